// Test client: the official OpenAI and Anthropic Node.js SDKs (global fetch -> node's bundled
// undici -> node's `tls` -> OpenSSL linked into the node binary).
//
//   NODE_EXTRA_CA_CERTS=CAFILE node node_sdk_client.js PORT CAFILE openai|anthropic plain|stream
//   NODE_EXTRA_CA_CERTS=CAFILE node node_sdk_client.js PORT CAFILE openai responses|responses-stream|embeddings
//   NODE_EXTRA_CA_CERTS=CAFILE node node_sdk_client.js PORT CAFILE gemini plain|stream
//
// The SDKs are used exactly as an agent uses them, on their default HTTP stack; only name
// resolution is pointed at the test server on 127.0.0.1 (TLS SNI, certificate check and Host
// header still use the real names). The test CA must come in through NODE_EXTRA_CA_CERTS: node
// reads it once, at start-up, into the default trust store that fetch uses.
// The SDKs live in node-sdk/ (`npm ci` there; scripts/setup.sh does it).
'use strict';
const dns = require('dns');
const path = require('path');
const { createRequire } = require('module');

const [port, cafile, provider, mode] = process.argv.slice(2);
const openaiOnly = ['responses', 'responses-stream', 'embeddings'];
if (!['openai', 'anthropic', 'gemini'].includes(provider)
    || !(['plain', 'stream'].includes(mode) || (provider === 'openai' && openaiOnly.includes(mode)))) {
  console.error('usage: node_sdk_client.js PORT CAFILE openai|anthropic plain|stream|responses|responses-stream|embeddings');
  process.exit(2);
}
if (process.env.NODE_EXTRA_CA_CERTS !== cafile) {
  console.error(`NODE_EXTRA_CA_CERTS must be the test CA ${cafile}, is ${process.env.NODE_EXTRA_CA_CERTS}`);
  process.exit(2);
}

// node's `net` looks host names up through `dns.lookup` at connect time (undici passes no
// `lookup` of its own), so this is node's equivalent of patching getaddrinfo.
const lookup = dns.lookup;
dns.lookup = function (host, ...args) {
  if (['api.openai.com', 'api.anthropic.com', 'generativelanguage.googleapis.com'].includes(host)) {
    host = '127.0.0.1';
  }
  return lookup.call(this, host, ...args);
};

const sdkRequire = createRequire(path.join(__dirname, 'node-sdk', 'package.json'));
const question = [{ role: 'user', content: "What's the weather in Paris today?" }];

async function openai() {
  const { default: OpenAI } = sdkRequire('openai');
  const client = new OpenAI({
    apiKey: 'sk-proj-e2eTESTKEY0123456789',
    baseURL: `https://api.openai.com:${port}/v1`,
    maxRetries: 0,
  });
  const tools = [{
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the current weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  }];
  const rtools = [{ type: 'function', ...tools[0].function }];
  if (mode === 'responses') {
    const r = await client.responses.create({ model: 'gpt-4o', input: question[0].content, tools: rtools });
    return r.output.find((o) => o.type === 'function_call').name;
  }
  if (mode === 'responses-stream') {
    let name = '';
    const stream = await client.responses.create({ model: 'gpt-4o', input: question, tools: rtools, stream: true });
    for await (const ev of stream) {
      if (ev.type === 'response.output_item.done' && ev.item.type === 'function_call') name = ev.item.name;
    }
    return name;
  }
  if (mode === 'embeddings') {
    // The SDK asks for base64 and decodes it: 8 floats in the fixture.
    const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'The weather in Paris' });
    return `${r.data[0].embedding.length} dimensions`;
  }
  if (mode === 'stream') {
    let name = '';
    const stream = await client.chat.completions.create({
      model: 'gpt-4o', messages: question, tools, stream: true, stream_options: { include_usage: true },
    });
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        for (const tc of c.delta.tool_calls || []) name += (tc.function && tc.function.name) || '';
      }
    }
    return name;
  }
  const r = await client.chat.completions.create({ model: 'gpt-4o', messages: question, tools });
  return r.choices[0].message.tool_calls[0].function.name;
}

async function anthropic() {
  const { default: Anthropic } = sdkRequire('@anthropic-ai/sdk');
  const client = new Anthropic({
    apiKey: 'sk-ant-api03-e2eTESTKEY0123456789',
    baseURL: `https://api.anthropic.com:${port}`,
    maxRetries: 0,
  });
  const tools = [{
    name: 'get_weather',
    description: 'Get the current weather for a city',
    input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  }];
  const params = { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: question, tools };
  const final = mode === 'stream'
    ? await client.messages.stream(params).finalMessage()
    : await client.messages.create(params);
  const use = final.content.find((b) => b.type === 'tool_use');
  return use ? use.name : '';
}

async function gemini() {
  const { GoogleGenAI } = sdkRequire('@google/genai');
  const ai = new GoogleGenAI({
    apiKey: 'AIzaSyE2eTESTKEY0123456789abcdefghijk',
    httpOptions: { baseUrl: `https://generativelanguage.googleapis.com:${port}` },
  });
  const params = {
    model: 'gemini-2.5-flash',
    contents: question[0].content,
    config: {
      tools: [{
        functionDeclarations: [{
          name: 'get_weather',
          description: 'Get the current weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        }],
      }],
    },
  };
  if (mode === 'stream') {
    let name = '';
    for await (const chunk of await ai.models.generateContentStream(params)) {
      for (const fc of chunk.functionCalls || []) name = fc.name;
    }
    return name;
  }
  const r = await ai.models.generateContent(params);
  return (r.functionCalls || [{ name: '' }])[0].name;
}

({ openai, anthropic, gemini }[provider])()
  .then((name) => {
    const want = mode === 'embeddings' ? '8 dimensions' : 'get_weather';
    if (name !== want) {
      console.error(`the SDK did not see ${want} but ${JSON.stringify(name)}`);
      process.exit(1);
    }
    console.log('ok');
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
