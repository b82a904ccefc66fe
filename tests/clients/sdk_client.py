#!/usr/bin/env python3
"""Test client: the official OpenAI, Anthropic and Gemini Python SDKs (httpx -> Python ssl ->
OpenSSL), and boto3 for AWS Bedrock (urllib3 -> Python ssl -> OpenSSL).

  sdk_client.py PORT CAFILE openai|anthropic plain|stream
  sdk_client.py PORT CAFILE openai responses|responses-stream|embeddings
  sdk_client.py PORT CAFILE gemini plain|stream
  sdk_client.py PORT CAFILE bedrock plain|stream|invoke|invoke-stream

The SDKs are used exactly as an agent uses them; only name resolution is pointed at the test
server on 127.0.0.1 (TLS SNI, certificate check and Host header still use the real names).
"""
import socket
import ssl
import sys

_resolve = socket.getaddrinfo


def _to_loopback(host, *args, **kwargs):
    if host in ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com",
                "bedrock-runtime.us-east-1.amazonaws.com"):
        host = "127.0.0.1"
    return _resolve(host, *args, **kwargs)


socket.getaddrinfo = _to_loopback

import json  # noqa: E402

import anthropic  # noqa: E402
import boto3  # noqa: E402
import botocore.config  # noqa: E402
import openai  # noqa: E402
from google import genai  # noqa: E402
from google.genai import types as genai_types  # noqa: E402

try:  # the SDKs' HTTP client: httpx2 in current releases, httpx before
    import httpx2 as httpx  # noqa: E402
except ImportError:
    import httpx  # noqa: E402

port, cafile, provider, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
http = httpx.Client(verify=ssl.create_default_context(cafile=cafile))
question = [{"role": "user", "content": "What's the weather in Paris today?"}]

if provider == "openai":
    client = openai.OpenAI(api_key="sk-proj-e2eTESTKEY0123456789", base_url=f"https://api.openai.com:{port}/v1",
                           http_client=http, max_retries=0)
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Get the current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    rtools = [dict(type="function", **tools[0]["function"])]
    if mode == "responses":
        r = client.responses.create(model="gpt-4o", input=question[0]["content"], tools=rtools)
        name = [o.name for o in r.output if o.type == "function_call"][0]
    elif mode == "responses-stream":
        name = ""
        for ev in client.responses.create(model="gpt-4o", input=question, tools=rtools, stream=True):
            if ev.type == "response.output_item.done" and ev.item.type == "function_call":
                name = ev.item.name
    elif mode == "embeddings":
        r = client.embeddings.create(model="text-embedding-3-small", input="The weather in Paris")
        # the SDK asks for base64 and decodes it: 8 floats in the fixture
        name = f"{len(r.data[0].embedding)} dimensions"
    elif mode == "stream":
        name = ""
        for chunk in client.chat.completions.create(model="gpt-4o", messages=question, tools=tools, stream=True,
                                                    stream_options={"include_usage": True}):
            for c in chunk.choices:
                for tc in c.delta.tool_calls or []:
                    name += tc.function.name or ""
    else:
        r = client.chat.completions.create(model="gpt-4o", messages=question, tools=tools)
        name = r.choices[0].message.tool_calls[0].function.name
elif provider == "gemini":
    client = genai.Client(api_key="AIzaSyE2eTESTKEY0123456789abcdefghijk", http_options=genai_types.HttpOptions(
        base_url=f"https://generativelanguage.googleapis.com:{port}",
        client_args={"verify": ssl.create_default_context(cafile=cafile)}))
    config = genai_types.GenerateContentConfig(
        tools=[genai_types.Tool(function_declarations=[genai_types.FunctionDeclaration(
            name="get_weather", description="Get the current weather for a city",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})])],
        # the agent runs the tool itself
        automatic_function_calling=genai_types.AutomaticFunctionCallingConfig(disable=True))
    prompt = question[0]["content"]
    if mode == "stream":
        name = ""
        for chunk in client.models.generate_content_stream(model="gemini-2.5-flash", contents=prompt, config=config):
            for fc in chunk.function_calls or []:
                name = fc.name
    else:
        r = client.models.generate_content(model="gemini-2.5-flash", contents=prompt, config=config)
        name = r.function_calls[0].name
elif provider == "bedrock":
    # Dummy credentials: boto3 signs with them (SigV4), the mock does not check.
    client = boto3.client("bedrock-runtime", region_name="us-east-1",
                          endpoint_url=f"https://bedrock-runtime.us-east-1.amazonaws.com:{port}", verify=cafile,
                          aws_access_key_id="AKIAE2ETESTKEY000000",
                          aws_secret_access_key="e2eTESTsecret0000000000000000000000000000",
                          config=botocore.config.Config(retries={"total_max_attempts": 1}))
    model = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    if mode in ("plain", "stream"):
        messages = [{"role": "user", "content": [{"text": question[0]["content"]}]}]
        tool_config = {"tools": [{"toolSpec": {"name": "get_weather", "description": "Get the current weather for a city",
                                               "inputSchema": {"json": schema}}}]}
        if mode == "stream":
            name = ""
            r = client.converse_stream(modelId=model, messages=messages, toolConfig=tool_config)
            for ev in r["stream"]:
                name += ev.get("contentBlockStart", {}).get("start", {}).get("toolUse", {}).get("name", "")
        else:
            r = client.converse(modelId=model, messages=messages, toolConfig=tool_config)
            name = [c["toolUse"]["name"] for c in r["output"]["message"]["content"] if "toolUse" in c][0]
    else:
        body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 1024, "messages": question,
                           "tools": [{"name": "get_weather", "description": "Get the current weather for a city",
                                      "input_schema": schema}]})
        if mode == "invoke-stream":
            name = ""
            r = client.invoke_model_with_response_stream(modelId=model, body=body)
            for ev in r["body"]:
                event = json.loads(ev["chunk"]["bytes"])
                if event["type"] == "content_block_start" and event["content_block"]["type"] == "tool_use":
                    name = event["content_block"]["name"]
        else:
            r = client.invoke_model(modelId=model, body=body)
            name = [b["name"] for b in json.loads(r["body"].read())["content"] if b["type"] == "tool_use"][0]
else:
    client = anthropic.Anthropic(api_key="sk-ant-api03-e2eTESTKEY0123456789", base_url=f"https://api.anthropic.com:{port}",
                                 http_client=http, max_retries=0)
    tools = [{"name": "get_weather", "description": "Get the current weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    if mode == "stream":
        with client.messages.stream(model="claude-sonnet-4-5", max_tokens=1024, messages=question, tools=tools) as s:
            final = s.get_final_message()
    else:
        final = client.messages.create(model="claude-sonnet-4-5", max_tokens=1024, messages=question, tools=tools)
    name = [b.name for b in final.content if b.type == "tool_use"][0]

want = "8 dimensions" if mode == "embeddings" else "get_weather"
if name != want:
    sys.exit(f"the SDK did not see {want!r} but {name!r}")
print("ok")
