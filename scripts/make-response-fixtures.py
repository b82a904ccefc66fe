#!/usr/bin/env python3
"""Writes the mock API's responses: decode/tests/fixtures/responses/<name>.http.

Each file is one complete HTTP/1.1 response as OpenAI's, Anthropic's, Google's or AWS
Bedrock's API sends it (headers in their style, chunked transfer coding, gzip where OpenAI
uses it, server-sent events or AWS binary event stream messages split across chunks as they
arrive on the wire; event stream CRCs computed with zlib.crc32). The end-to-end test server replays them verbatim;
the decoder tests and the benchmark read them. Framing (chunk sizes, Content-Length) is
computed here, never typed by hand.

  python3 scripts/make-response-fixtures.py
"""
import base64
import gzip
import json
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(__file__), "..", "decode", "tests", "fixtures", "responses")
DATE = "Mon, 23 Nov 2026 00:41:15 GMT"


def compact(v):
    return json.dumps(v, separators=(",", ":"))


def chunked(pieces):
    out = b""
    for p in pieces:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


def response(headers, body_pieces, chunk=True):
    head = "HTTP/1.1 200 OK\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
    if chunk:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        return head.encode() + chunked(body_pieces)
    body = b"".join(body_pieces)
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


OPENAI_HEADERS = [
    ("Date", DATE),
    ("Content-Type", "application/json"),
    ("Connection", "keep-alive"),
    ("access-control-expose-headers", "X-Request-ID"),
    ("openai-organization", "user-aisensortest"),
    ("openai-processing-ms", "412"),
    ("openai-version", "2020-10-01"),
    ("x-ratelimit-limit-requests", "10000"),
    ("x-ratelimit-remaining-requests", "9999"),
    ("x-request-id", "req_5f3c2a9e8b7d4c1fa0e6b2d9c8a7f6e5"),
    ("strict-transport-security", "max-age=31536000; includeSubDomains; preload"),
    ("cf-cache-status", "DYNAMIC"),
    ("Server", "cloudflare"),
    ("cf-ray", "8f1c2d3e4a5b6c7d-CDG"),
    ("alt-svc", 'h3=":443"; ma=86400'),
]

ANTHROPIC_HEADERS = [
    ("Date", DATE),
    ("Content-Type", "application/json"),
    ("Connection", "keep-alive"),
    ("anthropic-ratelimit-requests-limit", "4000"),
    ("anthropic-ratelimit-requests-remaining", "3999"),
    ("request-id", "req_011CVaisensorTestRequest01"),
    ("anthropic-organization-id", "8d5c6f2e-0000-4000-8000-aisensortest"),
    ("via", "1.1 google"),
    ("cf-cache-status", "DYNAMIC"),
    ("X-Robots-Tag", "none"),
    ("Server", "cloudflare"),
    ("cf-ray", "8f1c2d3e4a5b6c7e-CDG"),
]


def sse_headers(headers):
    return [(k, "text/event-stream; charset=utf-8" if k == "Content-Type" else v) for k, v in headers] + [
        ("Cache-Control", "no-cache")
    ]


def split_some(events):
    """One HTTP chunk per event, but every third event split in two, as TCP/TLS delivers it."""
    pieces = []
    for i, e in enumerate(events):
        if i % 3 == 2 and len(e) > 10:
            pieces += [e[: len(e) // 2], e[len(e) // 2:]]
        else:
            pieces.append(e)
    return pieces


# ---- OpenAI chat completions --------------------------------------------------------------

OA_ID = "chatcmpl-Aisensor1234567890abcdefXYZ"
OA_MODEL = "gpt-4o-2024-08-06"
OA_CREATED = 1763858475
OA_FP = "fp_aisensor01"


def openai_json(tools):
    if tools:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{
                "id": "call_Ab3dE5gH7jK9mN1pQ3sT5vX7",
                "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            }],
            "refusal": None,
            "annotations": [],
        }
        finish, usage = "tool_calls", (82, 17)
    else:
        message = {"role": "assistant", "content": "Paris is sunny today, around 18°C.", "refusal": None,
                   "annotations": []}
        finish, usage = "stop", (24, 9)
    return {
        "id": OA_ID, "object": "chat.completion", "created": OA_CREATED, "model": OA_MODEL,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage),
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": OA_FP,
    }


def openai_chunk(delta, finish=None, usage=None, choices=True):
    c = {"id": OA_ID, "object": "chat.completion.chunk", "created": OA_CREATED, "model": OA_MODEL,
         "service_tier": "default", "system_fingerprint": OA_FP,
         "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else [],
         "usage": usage}
    return ("data: " + compact(c) + "\n\n").encode()


def openai_stream(tools):
    ev = []
    if tools:
        ev.append(openai_chunk({"role": "assistant", "content": None, "tool_calls": [{
            "index": 0, "id": "call_Ab3dE5gH7jK9mN1pQ3sT5vX7", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}], "refusal": None}))
        for frag in ["{\"", "city", "\":\"", "Paris", "\"}"]:
            ev.append(openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}))
        ev.append(openai_chunk({}, finish="tool_calls"))
        usage = (82, 17)
    else:
        ev.append(openai_chunk({"role": "assistant", "content": "", "refusal": None}))
        for t in ["Paris", " is", " sunny", " today", ", around", " 18", "°C", "."]:
            ev.append(openai_chunk({"content": t}))
        ev.append(openai_chunk({}, finish="stop"))
        usage = (24, 9)
    ev.append(openai_chunk(None, usage={
        "prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage),
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        choices=False))
    ev.append(b"data: [DONE]\n\n")
    return ev


# ---- Anthropic messages -------------------------------------------------------------------

AN_ID = "msg_01AisensorTestMessage0001"
AN_MODEL = "claude-sonnet-4-5-20250929"


def anthropic_json(tools, msg_id=AN_ID, model=AN_MODEL):
    if tools:
        content = [
            {"type": "text", "text": "I'll check the current weather in Paris for you."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
             "input": {"city": "Paris"}},
        ]
        stop, usage = "tool_use", (397, 58)
    else:
        content = [{"type": "text", "text": "Paris is sunny today, around 18°C."}]
        stop, usage = "end_turn", (21, 14)
    return {
        "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": content,
        "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                  "output_tokens": usage[1], "service_tier": "standard"},
    }


def an_event(kind, data):
    return f"event: {kind}\ndata: {compact(data)}\n\n".encode()


def anthropic_stream(tools):
    return [an_event(kind, data) for kind, data in anthropic_stream_events(tools)]


def anthropic_stream_events(tools, msg_id=AN_ID, model=AN_MODEL):
    """The Messages stream as (event name, data) pairs: SSE from Anthropic, base64 chunks of an
    AWS event stream from Bedrock."""
    usage_in = 397 if tools else 21
    usage_out = 58 if tools else 14

    ev = [("message_start", {"type": "message_start", "message": {
        "id": msg_id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": usage_in, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                  "output_tokens": 1, "service_tier": "standard"}}})]
    ev.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}}))
    ev.append(("ping", {"type": "ping"}))
    text = ["I'll check", " the current weather", " in Paris for you."] if tools else \
        ["Paris is", " sunny today,", " around 18°C."]
    for t in text:
        ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                           "delta": {"type": "text_delta", "text": t}}))
    ev.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    if tools:
        ev.append(("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {}}}))
        for frag in ["", "{\"city\": ", "\"Paris\"}"]:
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": 1,
                                               "delta": {"type": "input_json_delta", "partial_json": frag}}))
        ev.append(("content_block_stop", {"type": "content_block_stop", "index": 1}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": "tool_use" if tools else "end_turn",
                                           "stop_sequence": None},
                                 "usage": {"output_tokens": usage_out}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return ev


# ---- OpenAI responses ---------------------------------------------------------------------

RS_ID = "resp_68aisensor0000000000000000000000000000000001"
RS_CREATED = 1763858475
RS_CALL = {"id": "fc_68aisensor000000000000000000000000000000000002", "type": "function_call",
           "call_id": "call_Rs3dE5gH7jK9mN1pQ3sT5vX7", "name": "get_weather"}
RS_MSG_ID = "msg_68aisensor000000000000000000000000000000000003"
RS_TOOL = {"type": "function", "name": "get_weather", "description": "Get the current weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                          "additionalProperties": False}, "strict": True}


def responses_object(tools, status, output, usage):
    """A response object with the fields OpenAI returns, in its order."""
    return {
        "id": RS_ID, "object": "response", "created_at": RS_CREATED, "status": status, "background": False,
        "error": None, "incomplete_details": None, "instructions": None, "max_output_tokens": None,
        "max_tool_calls": None, "model": OA_MODEL, "output": output, "parallel_tool_calls": True,
        "previous_response_id": None, "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None}, "safety_identifier": None, "service_tier": "default",
        "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto", "tools": [RS_TOOL] if tools else [], "top_logprobs": 0, "top_p": 1.0,
        "truncation": "disabled",
        "usage": None if usage is None else {
            "input_tokens": usage[0], "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage[1], "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": sum(usage)},
        "user": None, "metadata": {},
    }


RS_TEXT = ["Paris", " is", " sunny", " today", ", around", " 18", "°C", "."]


def responses_items(tools, done):
    if tools:
        return [dict(RS_CALL, status="completed" if done else "in_progress",
                     arguments="{\"city\":\"Paris\"}" if done else "")]
    return [{"id": RS_MSG_ID, "type": "message", "status": "completed" if done else "in_progress",
             "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": "".join(RS_TEXT)}]
             if done else [], "role": "assistant"}]


def responses_usage(tools):
    return (75, 18) if tools else (22, 9)


def responses_json(tools):
    return responses_object(tools, "completed", responses_items(tools, True), responses_usage(tools))


def responses_stream(tools):
    seq = iter(range(1000))

    def ev(kind, **fields):
        return f"event: {kind}\ndata: {compact(dict(type=kind, sequence_number=next(seq), **fields))}\n\n".encode()

    start = responses_object(tools, "in_progress", [], None)
    out = [ev("response.created", response=start), ev("response.in_progress", response=start)]
    item = responses_items(tools, False)[0]
    out.append(ev("response.output_item.added", output_index=0, item=item))
    if tools:
        args = ""
        for frag in ["{\"", "city", "\":\"", "Paris", "\"}"]:
            args += frag
            out.append(ev("response.function_call_arguments.delta", item_id=item["id"], output_index=0,
                          delta=frag))
        out.append(ev("response.function_call_arguments.done", item_id=item["id"], output_index=0,
                      arguments=args))
    else:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        out.append(ev("response.content_part.added", item_id=item["id"], output_index=0, content_index=0,
                      part=part))
        for t in RS_TEXT:
            out.append(ev("response.output_text.delta", item_id=item["id"], output_index=0, content_index=0,
                          delta=t, logprobs=[]))
        text = "".join(RS_TEXT)
        out.append(ev("response.output_text.done", item_id=item["id"], output_index=0, content_index=0,
                      text=text, logprobs=[]))
        out.append(ev("response.content_part.done", item_id=item["id"], output_index=0, content_index=0,
                      part=dict(part, text=text)))
    out.append(ev("response.output_item.done", output_index=0, item=responses_items(tools, True)[0]))
    out.append(ev("response.completed", response=responses_json(tools)))
    return out


# ---- OpenAI embeddings --------------------------------------------------------------------

def embeddings_json():
    # The SDKs ask for base64 (little-endian float32); 8 dimensions keep the fixture small.
    vec = struct.pack("<8f", 0.0123, -0.0456, 0.0789, 0.0012, -0.0345, 0.0678, -0.0901, 0.0234)
    return {"object": "list", "data": [{"object": "embedding", "index": 0,
                                        "embedding": base64.b64encode(vec).decode()}],
            "model": "text-embedding-3-small", "usage": {"prompt_tokens": 8, "total_tokens": 8}}


# ---- Gemini generateContent ---------------------------------------------------------------

GEMINI_HEADERS = [
    ("Content-Type", "application/json; charset=UTF-8"),
    ("Vary", "Origin"),
    ("Vary", "X-Origin"),
    ("Vary", "Referer"),
    ("Date", DATE),
    ("Server", "scaffolding on HTTPServer2"),
    ("X-XSS-Protection", "0"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-Content-Type-Options", "nosniff"),
    ("Server-Timing", "gfet4t7; dur=612"),
    ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'),
]
GM_MODEL = "gemini-2.5-flash"
GM_ID = "aisensorGeminiResp0001"
GM_TEXT = ["Paris is sunny", " today, around", " 18°C."]


def gemini_usage(tools, done=True):
    prompt, out, thoughts = (61, 16, 48) if tools else (9, 11, 0)
    u = {"promptTokenCount": prompt, "totalTokenCount": prompt + (out + thoughts if done else 0),
         "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    if done:
        u["candidatesTokenCount"] = out
    if thoughts and done:
        u["thoughtsTokenCount"] = thoughts
    return u


def gemini_chunk(parts, tools, finish=None, done=True):
    cand = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    return {"candidates": [cand], "usageMetadata": gemini_usage(tools, done), "modelVersion": GM_MODEL,
            "responseId": GM_ID}


GM_CALL = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
           "thoughtSignature": "CiQBVKhc7aisensorTestSignature0000000000000000AAAA"}


def gemini_json(tools):
    parts = [GM_CALL] if tools else [{"text": "".join(GM_TEXT)}]
    return gemini_chunk(parts, tools, "STOP")


def gemini_stream(tools):
    """`?alt=sse`: one whole GenerateContentResponse per event, CRLF-separated as Google sends."""
    if tools:
        chunks = [gemini_chunk([GM_CALL], tools, "STOP")]
    else:
        chunks = [gemini_chunk([{"text": t}], tools, None, False) for t in GM_TEXT[:-1]]
        chunks.append(gemini_chunk([{"text": GM_TEXT[-1]}], tools, "STOP"))
    return [("data: " + compact(c) + "\r\n\r\n").encode() for c in chunks]


# ---- AWS Bedrock Runtime ------------------------------------------------------------------

BR_REQUEST_ID = "7d2c4a1e-5b3f-4e8a-9c6d-aisensor0001"
BR_HEADERS = [
    ("Date", DATE),
    ("Content-Type", "application/json"),
    ("Connection", "keep-alive"),
    ("x-amzn-RequestId", BR_REQUEST_ID),
]
BR_STREAM_HEADERS = [(k, "application/vnd.amazon.eventstream" if k == "Content-Type" else v)
                     for k, v in BR_HEADERS]
BR_TOOL_ID = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"
BR_AN_ID = "msg_bdrk_01AisensorTestMessage0001"
BR_AN_MODEL = "claude-3-5-sonnet-20241022"
BR_CHECK = ["I'll check", " the current weather", " in Paris for you."]
BR_USAGE = {"inputTokens": 410, "outputTokens": 61, "totalTokens": 471, "cacheReadInputTokens": 0,
            "cacheWriteInputTokens": 0}


def es_message(headers, payload):
    """One AWS event stream message: total length, headers length, prelude CRC, headers (all
    strings here, value type 7), payload, message CRC; big-endian, CRC-32 as zlib computes it."""
    hb = b""
    for name, value in headers:
        n, v = name.encode(), value.encode()
        hb += struct.pack(">B", len(n)) + n + b"\x07" + struct.pack(">H", len(v)) + v
    prelude = struct.pack(">II", 12 + len(hb) + len(payload) + 4, len(hb))
    msg = prelude + struct.pack(">I", zlib.crc32(prelude)) + hb + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123"


def es_event(kind, data, i):
    # Bedrock pads event payloads with a "p" field of varying length (against length analysis).
    data = dict(data, p=PAD[: 1 + (i * 7) % len(PAD)])
    return es_message([(":event-type", kind), (":content-type", "application/json"),
                       (":message-type", "event")], compact(data).encode())


def converse_json():
    return {"output": {"message": {"role": "assistant", "content": [
        {"text": "".join(BR_CHECK)},
        {"toolUse": {"toolUseId": BR_TOOL_ID, "name": "get_weather", "input": {"city": "Paris"}}}]}},
        "stopReason": "tool_use", "usage": BR_USAGE, "metrics": {"latencyMs": 1187}}


def converse_stream():
    ev = [("messageStart", {"role": "assistant"})]
    ev += [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in BR_CHECK]
    ev.append(("contentBlockStop", {"contentBlockIndex": 0}))
    ev.append(("contentBlockStart", {"contentBlockIndex": 1, "start": {
        "toolUse": {"toolUseId": BR_TOOL_ID, "name": "get_weather"}}}))
    ev += [("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": frag}}})
           for frag in ["{\"city\": ", "\"Paris\"}"]]
    ev.append(("contentBlockStop", {"contentBlockIndex": 1}))
    ev.append(("messageStop", {"stopReason": "tool_use"}))
    ev.append(("metadata", {"usage": BR_USAGE, "metrics": {"latencyMs": 1187}}))
    return [es_event(kind, data, i) for i, (kind, data) in enumerate(ev)]


def invoke_stream():
    """InvokeModelWithResponseStream, Anthropic model: each of Anthropic's stream events,
    base64, in a `chunk` event; Bedrock adds its invocation metrics to the last."""
    events = [data for _, data in anthropic_stream_events(True, BR_AN_ID, BR_AN_MODEL)]
    events[-1]["amazon-bedrock-invocationMetrics"] = {
        "inputTokenCount": 397, "outputTokenCount": 58, "invocationLatency": 1187, "firstByteLatency": 412}
    return [es_event("chunk", {"bytes": base64.b64encode(compact(e).encode()).decode()}, i)
            for i, e in enumerate(events)]


def es_chunk(data, i):
    """A `chunk` event of InvokeModelWithResponseStream: the model's own event, base64."""
    return es_event("chunk", {"bytes": base64.b64encode(compact(data).encode()).decode()}, i)


BR_METRICS = {"invocationLatency": 1187, "firstByteLatency": 412}
BR_NOVA_USAGE = {"inputTokens": 412, "outputTokens": 63, "totalTokens": 475, "cacheReadInputTokenCount": 0,
                 "cacheWriteInputTokenCount": 0}


def nova_json():
    """InvokeModel, Amazon Nova: Converse's response shape (Nova counts cache tokens as
    `cache*InputTokenCount`)."""
    return {"output": {"message": {"content": [
        {"text": "".join(BR_CHECK)},
        {"toolUse": {"name": "get_weather", "toolUseId": BR_TOOL_ID, "input": {"city": "Paris"}}}],
        "role": "assistant"}}, "stopReason": "tool_use", "usage": BR_NOVA_USAGE}


def nova_stream():
    """InvokeModelWithResponseStream, Amazon Nova: ConverseStream's events, each as
    `{"<eventType>": {...}}` in a chunk."""
    ev = [{"messageStart": {"role": "assistant"}}]
    ev += [{"contentBlockDelta": {"delta": {"text": t}, "contentBlockIndex": 0}} for t in BR_CHECK]
    ev.append({"contentBlockStop": {"contentBlockIndex": 0}})
    ev.append({"contentBlockStart": {"start": {"toolUse": {"toolUseId": BR_TOOL_ID, "name": "get_weather"}},
                                     "contentBlockIndex": 1}})
    ev.append({"contentBlockDelta": {"delta": {"toolUse": {"input": "{\"city\":\"Paris\"}"}},
                                     "contentBlockIndex": 1}})
    ev.append({"contentBlockStop": {"contentBlockIndex": 1}})
    ev.append({"messageStop": {"stopReason": "tool_use"}})
    ev.append({"metadata": {"usage": {"inputTokens": 412, "outputTokens": 63}, "metrics": {}, "trace": {}},
               "amazon-bedrock-invocationMetrics": dict(BR_METRICS, inputTokenCount=412, outputTokenCount=63)})
    return [es_chunk(e, i) for i, e in enumerate(ev)]


BR_OSS_ID = "chatcmpl-bdrk-aisensor0001"
BR_OSS_MODEL = "openai.gpt-oss-120b-1:0"
BR_OSS_CALL = "call_bdrk_aisensor01"


def gpt_oss_stream():
    """InvokeModelWithResponseStream, OpenAI gpt-oss: chat.completion.chunk objects, one per
    chunk; Bedrock's metrics ride on the last."""
    def c(delta, finish=None):
        return {"id": BR_OSS_ID, "object": "chat.completion.chunk", "created": OA_CREATED, "model": BR_OSS_MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    ev = [c({"role": "assistant", "content": "", "reasoning_content": "The user wants the weather."})]
    ev.append(c({"tool_calls": [{"index": 0, "id": BR_OSS_CALL, "type": "function",
                                 "function": {"name": "get_weather", "arguments": ""}}]}))
    for frag in ["{\"", "city", "\":\"", "Paris", "\"}"]:
        ev.append(c({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}))
    ev.append(c({}, "tool_calls"))
    ev[-1]["amazon-bedrock-invocationMetrics"] = dict(BR_METRICS, inputTokenCount=139, outputTokenCount=33)
    return [es_chunk(e, i) for i, e in enumerate(ev)]


BR_LLAMA_TEXT = ["Paris", " is", " sunny", " today", ", around", " 18", "°C", "."]


def llama_stream():
    """InvokeModelWithResponseStream, Meta Llama: `generation` pieces; the prompt's count in
    the first chunk, the running output count in each, the stop reason in the last."""
    ev = [{"generation": t, "prompt_token_count": 24 if i == 0 else None, "generation_token_count": i + 1,
           "stop_reason": None} for i, t in enumerate(BR_LLAMA_TEXT)]
    ev.append({"generation": "", "prompt_token_count": None, "generation_token_count": len(BR_LLAMA_TEXT) + 1,
               "stop_reason": "stop", "amazon-bedrock-invocationMetrics": dict(
                   BR_METRICS, inputTokenCount=24, outputTokenCount=len(BR_LLAMA_TEXT) + 1)})
    return [es_chunk(e, i) for i, e in enumerate(ev)]


def bedrock_fixtures():
    body = compact(converse_json()).encode()
    write("bedrock-converse-tools", response(BR_HEADERS, [body], chunk=False))
    write("bedrock-converse-tools-stream", response(BR_STREAM_HEADERS, split_some(converse_stream())))
    body = compact(anthropic_json(True, BR_AN_ID, BR_AN_MODEL)).encode()
    write("bedrock-invoke-tools", response(BR_HEADERS + [
        ("X-Amzn-Bedrock-Invocation-Latency", "1187"),
        ("X-Amzn-Bedrock-Output-Token-Count", "58"),
        ("X-Amzn-Bedrock-Input-Token-Count", "397")], [body], chunk=False))
    write("bedrock-invoke-tools-stream", response(
        BR_STREAM_HEADERS + [("X-Amzn-Bedrock-Content-Type", "application/json")], split_some(invoke_stream())))
    # Models of other providers through InvokeModel: each in its provider's own format.
    body = compact(nova_json()).encode()
    write("bedrock-invoke-nova-tools", response(BR_HEADERS + [
        ("X-Amzn-Bedrock-Invocation-Latency", "1187"),
        ("X-Amzn-Bedrock-Output-Token-Count", "63"),
        ("X-Amzn-Bedrock-Input-Token-Count", "412")], [body], chunk=False))
    stream_headers = BR_STREAM_HEADERS + [("X-Amzn-Bedrock-Content-Type", "application/json")]
    write("bedrock-invoke-nova-tools-stream", response(stream_headers, split_some(nova_stream())))
    write("bedrock-invoke-gpt-oss-tools-stream", response(stream_headers, split_some(gpt_oss_stream())))
    write("bedrock-invoke-llama-stream", response(stream_headers, split_some(llama_stream())))
    # A throttled call: the kind of error is in a header, the body only says why.
    err = compact({"message": "Too many requests, please wait before trying again."}).encode()
    write("bedrock-converse-error", response(BR_HEADERS + [
        ("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")],
        [err], chunk=False).replace(b"200 OK", b"429 Too Many Requests", 1))


def write(name, data):
    with open(os.path.join(OUT, name + ".http"), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    # OpenAI answers JSON chunked, gzip-compressed when the client accepts it (the SDKs do).
    for tools in (False, True):
        suffix = "-tools" if tools else ""
        body = compact(openai_json(tools)).encode()
        gz = gzip.compress(body, mtime=0)
        write("openai-chat" + suffix,
              response(OPENAI_HEADERS + [("Content-Encoding", "gzip")], [gz[:len(gz) // 2], gz[len(gz) // 2:]]))
        write("openai-chat" + suffix + "-stream",
              response(sse_headers(OPENAI_HEADERS), split_some(openai_stream(tools))))
        body = compact(anthropic_json(tools)).encode()
        write("anthropic-messages" + suffix, response(ANTHROPIC_HEADERS, [body], chunk=False))
        write("anthropic-messages" + suffix + "-stream",
              response(sse_headers(ANTHROPIC_HEADERS), split_some(anthropic_stream(tools))))
        body = compact(responses_json(tools)).encode()
        gz = gzip.compress(body, mtime=0)
        write("openai-responses" + suffix,
              response(OPENAI_HEADERS + [("Content-Encoding", "gzip")], [gz[:len(gz) // 2], gz[len(gz) // 2:]]))
        write("openai-responses" + suffix + "-stream",
              response(sse_headers(OPENAI_HEADERS), split_some(responses_stream(tools))))
    for tools in (False, True):
        suffix = "-tools" if tools else ""
        # Google pretty-prints JSON bodies; gzip when the client accepts it (the SDKs do).
        gz = gzip.compress(json.dumps(gemini_json(tools), indent=2, ensure_ascii=False).encode(), mtime=0)
        write("gemini-generate" + suffix,
              response(GEMINI_HEADERS + [("Content-Encoding", "gzip")], [gz]))
        sse = [(k, "text/event-stream" if k == "Content-Type" else v) for k, v in GEMINI_HEADERS]
        write("gemini-generate" + suffix + "-stream",
              response(sse + [("Content-Disposition", "attachment")], split_some(gemini_stream(tools))))
    body = compact(embeddings_json()).encode()
    write("openai-embeddings", response(OPENAI_HEADERS + [("Content-Encoding", "gzip")],
                                        [gzip.compress(body, mtime=0)]))
    # An error, as OpenAI sends it (429).
    err = compact({"error": {"message": "Rate limit reached for gpt-4o in organization org-test on requests per min (RPM): Limit 500, Used 500, Requested 1.", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}).encode()
    write("openai-chat-error", response(OPENAI_HEADERS, [err], chunk=False).replace(b"200 OK", b"429 Too Many Requests", 1))
    bedrock_fixtures()


main()
