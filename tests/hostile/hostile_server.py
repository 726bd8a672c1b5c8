#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A hostile imitation of the Gemini Developer REST API (v1beta).

It answers the calls a Gemini client makes (generateContent,
streamGenerateContent?alt=sse, countTokens, the Files API resumable upload,
file polling and deletion) and, depending on --scenario, answers one kind of
call badly on purpose. Every call a scenario does not target gets a valid
answer.

Two listeners, both on 127.0.0.1 with ports the kernel picks:
  endpoint  what the client is pointed at (GOOGLE_GEMINI_BASE_URL);
  foreign   another origin, standing for a host an attacker controls. It always
            answers validly, but its transcripts say "FOREIGN ORIGIN ANSWER"
            and its files have that display name, so a test can tell that the
            client accepted something from it.

Usage:
  hostile_server.py --scenario NAME --port-file PATH --log PATH
                    [--key KEY] [--max-seconds N]
  hostile_server.py --self-test

Once both listen, --port-file receives (atomically)
  {"endpoint": "http://127.0.0.1:P", "foreign": "http://127.0.0.1:Q"}
--log gets one JSON line per request received on either listener, written
and flushed once the request body has been read, before the answer:
  {"origin": "endpoint"|"foreign", "method": "POST", "path": "/v1beta/...?q",
   "headers": {name: value, ...every request header...}, "body_bytes": N,
   "time": <Unix time, float>}
The server stops by itself after --max-seconds (default 120) and on SIGTERM or
SIGINT. Endless answers stop at that deadline, after 4 GiB, or when the client
goes away, whichever comes first.

Scenarios (what the endpoint does; "generate" means both generateContent and
streamGenerateContent unless a line says otherwise):
  valid                   everything valid.
  redirect-301/-302/-307  generate answers that status, Location = the same
                          path and query on the foreign origin.
  redirect-file-307       GET /v1beta/files/* answers 307 to the same path on
                          the foreign origin; upload finalize answers
                          PROCESSING so that the client polls.
  redirect-loop           generate answers 302 to itself, adding ?n=<counter>.
  upload-url-foreign      upload start answers
                          X-Goog-Upload-URL: <foreign>/upload/v1beta/files?upload_id=evil
  echo-key-upload-status  upload start answers 200 with no URL and
                          X-Goog-Upload-Status: error KEY=<key>.
  echo-key-error          generate answers 400, the error message holds the key.
  deep-json-200           generate answers 200 with [[[...]]] nested 80000 deep
                          (the stream form sends it as one data: event).
  deep-json-503           generate answers 503 with that body.
  deep-json-file          upload finalize answers PROCESSING, file GET answers
                          200 with that body.
  endless-200/-500        generate answers 200/500 application/json, chunked:
                          {"candidates":[ then 64 KiB chunks, alternately
                          spaces and {"a":1},{"a":1},... without end.
  sse-comments            stream sends ": keep-alive" comment events every 2 s,
                          never a data event; generateContent trickles a space
                          every 2 s and never finishes.
  sse-no-newline          stream sends "data: " then endless x, never a newline.
  retry-day               generate answers 429 with RetryInfo retryDelay 86400s.
  retry-overflow          the same with retryDelay 18446744074s.
  processing-forever      upload finalize and every file GET answer PROCESSING.
  many-speakers           the transcript has 100000 speakers and 100000 rows.
  many-rows               the transcript has 1000000 rows and 1 speaker.
  many-rows-small         100000 rows and 1 speaker: the answer stays under
                          16 MiB, so only a bound on rows stops them.
  many-speakers-small     20000 rows and 20000 speakers, under 16 MiB.
  never-answer            every request is read and never answered; the
                          connection is held until the deadline.
  invalid-utf8-error      generate answers 503, the error message holds the
                          raw bytes ff fe c3 28 and the word "overloaded".
  ansi-error              generate answers 400, the error message holds ANSI
                          and OSC escape sequences.
  rows-past-stop          the transcript has rows at 00:01 and 00:05 (ending at
                          00:00, before its start), 99:59 and 23:59:59.
  batch-foreign-keys      a finished batch answers its own requests and two more,
                          keyed "../../../hostile-escape" and
                          "in00001#0/../../hostile-escape".
  batch-echo-key          a finished batch answers its first request with an error
                          that holds the key and an OSC escape, and puts the key in
                          the transcript text of the others.

The batch calls (models/*:batchGenerateContent, batches/*, batches) are
answered as the Batch API does: a created job is PENDING, the first poll finds
it SUCCEEDED with one inline response per request, in request order, keyed by
the request's metadata.key.
"""

import argparse
import contextlib
import functools
import http.client
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JSON_TYPE = "application/json; charset=UTF-8"
SSE_TYPE = "text/event-stream"
DEFAULT_KEY = "AIzaHostileCanaryKey-0000000000000000000"
FOREIGN_TEXT = "FOREIGN ORIGIN ANSWER"
VALID_TEXT = "Hello from the hostile server."
MAX_ENDLESS_BYTES = 4 << 30
PIECE = 64 << 10
READ_PIECE = 1 << 20
KEPT_BODY = 64 << 20  # a batch create body is read, to answer its requests by key
DEEP_JSON = b"[" * 80000 + b"]" * 80000
DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


# ---------------------------------------------------------------- transcripts

def transcript_row(start, end, text, voice=1):
    return {"start": start, "end": end, "text": text, "voice": voice}


def speaker(voice, name, company, position, role):
    return {"voice": voice, "name": name, "company": company,
            "position": position, "role_in_video": role}


def transcript_text(rows, speakers):
    """The model's answer T: the transcript JSON, as a string."""
    document = {"language": "en", "task1_transcripts": rows, "task2_speakers": speakers}
    return json.dumps(document, separators=(",", ":"))


def valid_transcript(text=VALID_TEXT):
    return transcript_text([transcript_row("00:01", "00:03", text)],
                           [speaker(1, "Hostile Host", "Evil Corp", "Boss", "host")])


def foreign_transcript():
    return valid_transcript(FOREIGN_TEXT)


def many_speakers_transcript(count=100000):
    voices = range(1, count + 1)
    return transcript_text(
        [transcript_row("00:01", "00:02", f"Line from speaker {v}.", v) for v in voices],
        [speaker(v, f"Speaker {v}", f"Company {v}", "Guest", "guest") for v in voices])


def many_rows_transcript(count=1000000):
    rows = [transcript_row(f"00:{n % 10:02d}", f"00:{n % 10 + 1:02d}", f"row {n + 1}")
            for n in range(count)]
    return transcript_text(rows, [speaker(1, "Hostile Host", "Evil Corp", "Boss", "host")])


def rows_past_stop_transcript():
    rows = [transcript_row("00:01", "00:03", "Row inside the clip."),
            transcript_row("00:05", "00:00", "Row whose end comes before its start."),
            transcript_row("99:59", "99:59", "Row far past the clip end (MM:SS)."),
            transcript_row("23:59:59", "23:59:59", "Row far past the clip end (H:MM:SS).")]
    return transcript_text(rows, [speaker(1, "Hostile Host", "Evil Corp", "Boss", "host")])


TRANSCRIPTS = {
    "many-speakers": many_speakers_transcript,
    "many-rows": many_rows_transcript,
    "many-rows-small": functools.partial(many_rows_transcript, 100000),
    "many-speakers-small": functools.partial(many_speakers_transcript, 20000),
    "rows-past-stop": rows_past_stop_transcript,
}


# ------------------------------------------------------------- answer bodies

def to_json(value):
    return json.dumps(value, separators=(",", ":")).encode()


def response_chunk(text, last):
    candidate = {"content": {"role": "model", "parts": [{"text": text}]}}
    chunk = {"candidates": [candidate], "modelVersion": "hostile-1"}
    if last:
        candidate["finishReason"] = "STOP"
        chunk["usageMetadata"] = {"promptTokenCount": 100, "candidatesTokenCount": 50,
                                  "totalTokenCount": 150}
    return chunk


def generate_body(text):
    return to_json(response_chunk(text, last=True))


def sse_events(text):
    """The text split over three data: events, the last one with finishReason and usage."""
    cuts = [0, len(text) // 3, 2 * len(text) // 3, len(text)]
    parts = [text[a:b] for a, b in zip(cuts, cuts[1:])]
    return [b"data: " + to_json(response_chunk(part, last=i == 2)) + b"\n\n"
            for i, part in enumerate(parts)]


def google_error(code, message, status, details=None):
    error = {"code": code, "message": message, "status": status}
    if details is not None:
        error["details"] = details
    return {"error": error}


def retry_error(delay):
    info = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
    return google_error(429, "Resource exhausted", "RESOURCE_EXHAUSTED", [info])


def invalid_utf8_error():
    return (b'{"error":{"code":503,"message":"The model is overloaded \xff\xfe\xc3\x28 '
            b'Please try again later.","status":"UNAVAILABLE"}}')


def file_record(base, file_id, upload, state, display_name=None):
    return {"name": f"files/{file_id}",
            "displayName": display_name or upload.get("display", file_id),
            "mimeType": upload.get("mime", "video/mp4"),
            "sizeBytes": str(upload.get("received", 0)),
            "createTime": "2026-01-01T00:00:00.000000Z",
            "updateTime": "2026-01-01T00:00:00.000000Z",
            "expirationTime": "2026-01-03T00:00:00.000000Z",
            "uri": f"{base}/v1beta/files/{file_id}",
            "state": state,
            "source": "UPLOADED"}


def bounded(world, pieces, interval=0.0):
    """Yield from an endless iterator until the deadline or MAX_ENDLESS_BYTES."""
    sent = 0
    for piece in pieces:
        if sent >= MAX_ENDLESS_BYTES or world.stopped():
            return
        yield piece
        sent += len(piece)
        if interval and world.wait(interval):
            return


def endless_json(world):
    filler = itertools.cycle([b" " * PIECE, b'{"a":1},' * (PIECE // 8)])
    return bounded(world, itertools.chain([b'{"candidates":['], filler))


# ------------------------------------------------------------- shared state

class World:
    """What both listeners share: the scenario, the log, the deadline, the uploads."""

    def __init__(self, scenario, key, log_path, max_seconds):
        self.scenario = scenario
        self.key = key
        self.deadline = time.monotonic() + max_seconds
        self.stop = threading.Event()
        self.endpoint = self.foreign = ""
        self.log = open(log_path, "a", encoding="utf-8")
        self.lock = threading.Lock()
        self.cache_lock = threading.RLock()  # a cached body may be built from a cached text
        self.counter = itertools.count(1)
        self.uploads = {}
        self.batches = {}
        self.cache = {}

    def remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def stopped(self):
        return self.stop.is_set() or self.remaining() == 0.0

    def wait(self, seconds):
        """Sleep up to `seconds`; True when the server must stop."""
        self.stop.wait(min(seconds, self.remaining()))
        return self.stopped()

    def log_request(self, origin, handler, body_bytes):
        headers = {}
        for name, value in handler.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        line = json.dumps({"origin": origin, "method": handler.command, "path": handler.path,
                           "headers": headers, "body_bytes": body_bytes, "time": time.time()})
        with self.lock:
            if not self.log.closed:
                self.log.write(line + "\n")
                self.log.flush()

    def cached(self, key, build):
        """Build an answer body once, lazily, and reuse it."""
        with self.cache_lock:
            if key not in self.cache:
                self.cache[key] = build()
            return self.cache[key]

    def transcript(self, origin):
        if origin == "foreign":
            return self.cached("foreign-text", foreign_transcript)
        return self.cached("text", TRANSCRIPTS.get(self.scenario, valid_transcript))

    def create_batch(self, keys, display_name):
        name = f"batches/hostile{next(self.counter)}"
        with self.lock:
            self.batches[name] = {"keys": keys, "display": display_name}
        return name

    def batch(self, name):
        with self.lock:
            return dict(self.batches.get(name, {"keys": [], "display": ""}))

    def start_upload(self, info):
        upload_id = f"hostile{next(self.counter)}"
        with self.lock:
            self.uploads[upload_id] = info
        return upload_id

    def receive_upload(self, upload_id, body_bytes):
        with self.lock:
            upload = self.uploads.setdefault(upload_id, {})
            upload["received"] = upload.get("received", 0) + body_bytes
            return dict(upload)

    def upload(self, file_id):
        with self.lock:
            return dict(self.uploads.get(file_id, {}))

    def close(self):
        self.stop.set()
        with self.lock:
            self.log.close()


# ------------------------------------------------------------------ requests

def route_of(path):
    return urllib.parse.urlsplit(path).path


def upload_commands(headers):
    return {c.strip().lower() for c in headers.get("X-Goog-Upload-Command", "").split(",")}


def classify(method, path, headers):
    """The kind of Gemini call a request is, as used by the SCENARIOS table."""
    route = route_of(path)
    if method == "POST" and route.startswith("/v1beta/models/"):
        verbs = {"generateContent": "generate", "streamGenerateContent": "stream",
                 "countTokens": "count", "batchGenerateContent": "batch-create"}
        return verbs.get(route.rpartition(":")[2], "unknown")
    if method == "POST" and route == "/upload/v1beta/files":
        return "upload-start" if "start" in upload_commands(headers) else "upload-chunk"
    if route.startswith("/v1beta/files/"):
        return {"GET": "file-get", "DELETE": "file-delete"}.get(method, "unknown")
    if method == "GET" and route == "/v1beta/files":
        return "file-list"
    if route.startswith("/v1beta/batches/"):
        if method == "POST" and route.endswith(":cancel"):
            return "batch-cancel"
        return {"GET": "batch-get", "DELETE": "batch-delete"}.get(method, "unknown")
    if method == "GET" and route == "/v1beta/batches":
        return "batch-list"
    return "unknown"


def file_id_of(path):
    return route_of(path).split("/")[3].split(":")[0]


def upload_id_of(path):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    raw = query.get("upload_id", ["upload"])[0].lower()
    return re.sub(r"[^a-z0-9-]", "-", raw)[:40] or "upload"


# ----------------------------------------------------------- valid answers

def answer_generate(h):
    body = h.world.cached(("generate", h.origin), lambda: generate_body(h.world.transcript(h.origin)))
    h.send_body(200, body)


def answer_stream(h):
    events = h.world.cached(("stream", h.origin), lambda: sse_events(h.world.transcript(h.origin)))
    h.send_chunked(200, SSE_TYPE, events)


def answer_count(h):
    h.send_json(200, {"totalTokens": 1000})


def answer_upload_start(h, url=None):
    info = {"mime": h.headers.get("X-Goog-Upload-Header-Content-Type", "video/mp4"),
            "display": h.headers.get("X-Goog-Upload-File-Name", "upload")}
    if url is None:
        url = f"{h.base}/upload/v1beta/files?upload_id={h.world.start_upload(info)}"
    h.send_body(200, b"", headers={"X-Goog-Upload-URL": url,
                                   "X-Goog-Upload-Status": "active",
                                   "X-Goog-Upload-Chunk-Granularity": str(8 << 20)})


def answer_upload_chunk(h, final_state="ACTIVE"):
    upload_id = upload_id_of(h.path)
    upload = h.world.receive_upload(upload_id, h.body_bytes)
    commands = upload_commands(h.headers)
    headers = {"X-Goog-Upload-Size-Received": str(upload["received"])}
    if "finalize" in commands:
        headers["X-Goog-Upload-Status"] = "final"
        h.send_json(200, {"file": h.file(upload_id, upload, final_state)}, headers)
    else:
        headers["X-Goog-Upload-Status"] = "cancelled" if "cancel" in commands else "active"
        h.send_body(200, b"", headers=headers)


def answer_file_get(h, state="ACTIVE"):
    file_id = file_id_of(h.path)
    h.send_json(200, h.file(file_id, h.world.upload(file_id), state))


def answer_file_list(h):
    h.send_json(200, {"files": []})


def answer_file_delete(h):
    h.send_json(200, {})


def batch_operation(name, display_name, state, output=None):
    metadata = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1beta."
                         "GenerateContentBatch",
                "name": name, "displayName": display_name, "model": "models/hostile-1",
                "state": state}
    operation = {"name": name, "metadata": metadata}
    if output is not None:
        metadata["output"] = output
        operation.update(done=True, response={"@type": metadata["@type"], **metadata})
    return operation


def request_keys(body):
    """The metadata.key of every inline request of a batchGenerateContent body."""
    try:
        batch = json.loads(body or b"{}").get("batch", {})
        requests = batch["inputConfig"]["requests"]["requests"]
        return [r.get("metadata", {}).get("key", "") for r in requests], \
            batch.get("displayName", "")
    except (ValueError, KeyError, TypeError, AttributeError):
        return [], ""


def valid_result(h, key, text=None):
    return {"metadata": {"key": key},
            "response": json.loads(generate_body(text or h.world.transcript(h.origin)))}


def valid_results(h, keys):
    return [valid_result(h, key) for key in keys]


def foreign_key_results(h, keys):
    return valid_results(h, keys) + [valid_result(h, "../../../hostile-escape"),
                                     valid_result(h, "in00001#0/../../hostile-escape")]


def echo_key_results(h, keys):
    error = google_error(500, f"request failed for API key {h.world.key} \x1b]0;pwned\x07",
                         "INTERNAL")["error"]
    text = valid_transcript(f"Your key is {h.world.key}.")
    return [{"metadata": {"key": keys[0]}, "error": error}] + \
        [valid_result(h, key, text) for key in keys[1:]]


def answer_batch_create(h):
    keys, display_name = request_keys(h.body_data)
    name = h.world.create_batch(keys, display_name)
    h.send_json(200, batch_operation(name, display_name, "BATCH_STATE_PENDING"))


def answer_batch_get(h, results=valid_results):
    name = route_of(h.path)[len("/v1beta/"):]
    batch = h.world.batch(name)
    output = {"inlinedResponses": {"inlinedResponses": results(h, batch["keys"])}}
    h.send_json(200, batch_operation(name, batch["display"], "BATCH_STATE_SUCCEEDED", output))


def answer_batch_list(h):
    h.send_json(200, {"operations": []})


def answer_unknown(h):
    h.send_json(404, google_error(404, f"Not found: {route_of(h.path)}", "NOT_FOUND"))


VALID = {
    "generate": answer_generate,
    "stream": answer_stream,
    "count": answer_count,
    "upload-start": answer_upload_start,
    "upload-chunk": answer_upload_chunk,
    "file-get": answer_file_get,
    "file-list": answer_file_list,
    "file-delete": answer_file_delete,
    "batch-create": answer_batch_create,
    "batch-get": answer_batch_get,
    "batch-list": answer_batch_list,
    "batch-cancel": answer_file_delete,
    "batch-delete": answer_file_delete,
    "unknown": answer_unknown,
}


# ---------------------------------------------------------- hostile answers

def answer_redirect_foreign(h, status):
    h.send_body(status, b"Moved.\n", "text/plain", {"Location": h.world.foreign + h.path})


def answer_redirect_loop(h):
    query = [(k, v) for k, v in urllib.parse.parse_qsl(urllib.parse.urlsplit(h.path).query)
             if k != "n"]
    query.append(("n", str(next(h.world.counter))))
    location = f"{h.world.endpoint}{route_of(h.path)}?{urllib.parse.urlencode(query)}"
    h.send_body(302, b"Moved.\n", "text/plain", {"Location": location})


def answer_upload_url_foreign(h):
    answer_upload_start(h, f"{h.world.foreign}/upload/v1beta/files?upload_id=evil")


def answer_upload_status_with_key(h):
    h.send_body(200, b"", headers={"X-Goog-Upload-Status": f"error KEY={h.world.key}"})


def answer_error_with_key(h):
    message = f"API key {h.world.key} not valid. Please pass a valid API key."
    h.send_json(400, google_error(400, message, "INVALID_ARGUMENT"))


def answer_body(h, status, body):
    h.send_body(status, body)


def answer_deep_json_event(h):
    h.send_chunked(200, SSE_TYPE, [b"data: " + DEEP_JSON + b"\n\n"])


def answer_endless_json(h, status):
    h.send_chunked(status, JSON_TYPE, endless_json(h.world), complete=False)


def answer_sse_comments(h):
    comments = bounded(h.world, itertools.repeat(b": keep-alive\n\n"), interval=2.0)
    h.send_chunked(200, SSE_TYPE, comments, complete=False)


def answer_trickle(h):
    spaces = bounded(h.world, itertools.repeat(b" "), interval=2.0)
    h.send_chunked(200, JSON_TYPE, spaces, complete=False)


def answer_sse_no_newline(h):
    data = itertools.chain([b"data: "], itertools.repeat(b"x" * PIECE))
    h.send_chunked(200, SSE_TYPE, bounded(h.world, data), complete=False)


def answer_json(h, status, value):
    h.send_json(status, value)


def answer_never(h):
    h.world.wait(h.world.remaining())
    h.close_connection = True


def on_generate(action):
    return {"generate": action, "stream": action}


def on_everything(action):
    return {kind: action for kind in VALID}


ANSI_MESSAGE = "\x1b[31mRED\x1b[0m \x1b]0;pwned\x07 title"
P = functools.partial
SCENARIOS = {
    "valid": {},
    "redirect-301": on_generate(P(answer_redirect_foreign, status=301)),
    "redirect-302": on_generate(P(answer_redirect_foreign, status=302)),
    "redirect-307": on_generate(P(answer_redirect_foreign, status=307)),
    "redirect-file-307": {"upload-chunk": P(answer_upload_chunk, final_state="PROCESSING"),
                          "file-get": P(answer_redirect_foreign, status=307)},
    "redirect-loop": on_generate(answer_redirect_loop),
    "upload-url-foreign": {"upload-start": answer_upload_url_foreign},
    "echo-key-upload-status": {"upload-start": answer_upload_status_with_key},
    "echo-key-error": on_generate(answer_error_with_key),
    "deep-json-200": {"generate": P(answer_body, status=200, body=DEEP_JSON),
                      "stream": answer_deep_json_event},
    "deep-json-503": on_generate(P(answer_body, status=503, body=DEEP_JSON)),
    "deep-json-file": {"upload-chunk": P(answer_upload_chunk, final_state="PROCESSING"),
                       "file-get": P(answer_body, status=200, body=DEEP_JSON)},
    "endless-200": on_generate(P(answer_endless_json, status=200)),
    "endless-500": on_generate(P(answer_endless_json, status=500)),
    "sse-comments": {"generate": answer_trickle, "stream": answer_sse_comments},
    "sse-no-newline": {"stream": answer_sse_no_newline},
    "retry-day": on_generate(P(answer_json, status=429, value=retry_error("86400s"))),
    "retry-overflow": on_generate(P(answer_json, status=429,
                                    value=retry_error("18446744074s"))),
    "processing-forever": {"upload-chunk": P(answer_upload_chunk, final_state="PROCESSING"),
                           "file-get": P(answer_file_get, state="PROCESSING")},
    "many-speakers": {},
    "many-rows": {},
    "many-rows-small": {},
    "many-speakers-small": {},
    "never-answer": on_everything(answer_never),
    "invalid-utf8-error": on_generate(P(answer_body, status=503, body=invalid_utf8_error())),
    "ansi-error": on_generate(P(answer_json, status=400,
                                value=google_error(400, ANSI_MESSAGE, "INVALID_ARGUMENT"))),
    "rows-past-stop": {},
    "batch-foreign-keys": {"batch-get": P(answer_batch_get, results=foreign_key_results)},
    "batch-echo-key": {"batch-get": P(answer_batch_get, results=echo_key_results)},
}


# ------------------------------------------------------------------ handler

class HostileHandler(BaseHTTPRequestHandler):
    """One request on one listener; subclassed per listener with `world` and `origin`."""

    protocol_version = "HTTP/1.1"
    server_version = "hostile-gemini/1"
    sys_version = ""
    world: World
    origin: str

    @property
    def base(self):
        return self.world.endpoint if self.origin == "endpoint" else self.world.foreign

    def setup(self):
        self.timeout = self.world.remaining() + 1.0
        super().setup()

    def log_message(self, format, *args):
        """The JSON request log is the record; keep stderr quiet."""

    def handle_request(self):
        try:
            self.body_data = None
            self.body_bytes = self.read_body()
            self.world.log_request(self.origin, self, self.body_bytes)
            self.choose_answer()(self)
        except DISCONNECTS:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_request

    def choose_answer(self):
        kind = classify(self.command, self.path, self.headers)
        hostile = SCENARIOS[self.world.scenario] if self.origin == "endpoint" else {}
        return hostile.get(kind, VALID[kind])

    def read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self.drain_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return 0
        if classify(self.command, self.path, self.headers) == "batch-create" \
                and length <= KEPT_BODY:
            self.body_data = self.rfile.read(length)
            return len(self.body_data)
        return self.drain(length)

    def drain(self, length):
        """Read and discard `length` body bytes."""
        left = length
        while left > 0:
            data = self.rfile.read(min(left, READ_PIECE))
            if not data:
                raise ConnectionResetError("request body cut short")
            left -= len(data)
        return length

    def drain_chunked(self):
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass
                return total
            total += self.drain(size)
            self.rfile.readline(1024)

    def file(self, file_id, upload, state):
        display = FOREIGN_TEXT if self.origin == "foreign" else None
        return file_record(self.base, file_id, upload, state, display)

    def send_head(self, status, content_type, headers):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)

    def send_body(self, status, body, content_type=JSON_TYPE, headers=None):
        self.send_head(status, content_type, headers)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value, headers=None):
        self.send_body(status, to_json(value), JSON_TYPE, headers)

    def send_chunked(self, status, content_type, pieces, complete=True):
        """Send `pieces` as chunks; without `complete` the body is cut off, not ended."""
        self.send_head(status, content_type, {"Transfer-Encoding": "chunked"})
        self.end_headers()
        for piece in pieces:
            if piece:
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        if complete:
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.close_connection = True


# ------------------------------------------------------------------- server

def listen(world, origin):
    handler = type(f"{origin.title()}Handler", (HostileHandler,),
                   {"world": world, "origin": origin})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # daemon handler threads
    threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
    return server


def start_listeners(world):
    servers = [listen(world, "endpoint"), listen(world, "foreign")]
    world.endpoint, world.foreign = (f"http://127.0.0.1:{s.server_address[1]}" for s in servers)
    return servers


def stop_listeners(world, servers):
    world.stop.set()
    for server in servers:
        server.shutdown()
        server.server_close()
    world.close()


def write_port_file(path, world):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"endpoint": world.endpoint, "foreign": world.foreign}, f)
    os.replace(tmp, path)


def serve(args):
    world = World(args.scenario, args.key, args.log, args.max_seconds)
    servers = start_listeners(world)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: world.stop.set())
    write_port_file(args.port_file, world)
    while not world.wait(0.5):
        pass
    stop_listeners(world, servers)
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description="A hostile imitation of the Gemini REST API.")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--port-file")
    parser.add_argument("--log")
    parser.add_argument("--key", default=DEFAULT_KEY)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--self-test", action="store_true",
                        help="run the built-in checks and print 'N passed, N failed'")
    args = parser.parse_args(argv)
    if not args.self_test and not (args.scenario and args.port_file and args.log):
        parser.error("--scenario, --port-file and --log are required")
    return args


# ---------------------------------------------------------------- self-test

SELF_TEST_KEY = "AIzaSelfTestCanary-1234567890"
MODEL_PATH = "/v1beta/models/gemini-test:generateContent"
STREAM_PATH = "/v1beta/models/gemini-test:streamGenerateContent?alt=sse"


class Check(Exception):
    """A self-test expectation that did not hold."""


def expect(condition, message):
    if not condition:
        raise Check(message)


def split_url(url):
    parts = urllib.parse.urlsplit(url)
    return parts.hostname, parts.port, parts.path + (f"?{parts.query}" if parts.query else "")


def call(conn, method, path, body=b"{}", headers=None, limit=256 << 20):
    """One request on a kept-alive connection; the answer and at most `limit` body bytes."""
    conn.request(method, path, body=body,
                 headers={"x-goog-api-key": SELF_TEST_KEY, "Content-Type": "application/json",
                          **(headers or {})})
    answer = conn.getresponse()
    return answer, answer.read(limit)


@contextlib.contextmanager
def running(scenario, log_path):
    world = World(scenario, SELF_TEST_KEY, log_path, 60)
    servers = start_listeners(world)
    try:
        yield world
    finally:
        stop_listeners(world, servers)


def connect(url, timeout=10):
    host, port, _ = split_url(url)
    return http.client.HTTPConnection(host, port, timeout=timeout)


def model_text(body):
    return json.loads(body)["candidates"][0]["content"]["parts"][0]["text"]


def sse_data(body):
    return [json.loads(event[6:]) for event in body.decode().split("\n\n") if event]


def test_valid(world):
    conn = connect(world.endpoint)
    answer, body = call(conn, "POST", MODEL_PATH)
    expect(answer.status == 200, f"generate status {answer.status}")
    expect(json.loads(model_text(body))["task1_transcripts"][0]["text"] == VALID_TEXT,
           "generate transcript")
    answer, body = call(conn, "POST", STREAM_PATH)
    events = sse_data(body)
    expect(answer.getheader("Content-Type") == SSE_TYPE and len(events) == 3, "stream events")
    expect(events[-1]["candidates"][0]["finishReason"] == "STOP", "stream finishReason")
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    expect(text == valid_transcript(), "stream text")
    _, body = call(conn, "POST", "/v1beta/models/gemini-test:countTokens")
    expect(json.loads(body) == {"totalTokens": 1000}, "countTokens")
    answer, _ = call(conn, "POST", "/upload/v1beta/files",
                     headers={"X-Goog-Upload-Protocol": "resumable",
                              "X-Goog-Upload-Command": "start",
                              "X-Goog-Upload-Header-Content-Type": "video/mp4"})
    host, port, upload_path = split_url(answer.getheader("x-goog-upload-url"))
    expect(f"http://{host}:{port}" == world.endpoint, "upload URL on the endpoint")
    answer, body = call(conn, "POST", upload_path, body=b"v" * 1000,
                        headers={"X-Goog-Upload-Command": "upload, finalize",
                                 "X-Goog-Upload-Offset": "0"})
    record = json.loads(body)["file"]
    expect(answer.getheader("X-Goog-Upload-Status") == "final", "finalize status")
    expect(record["state"] == "ACTIVE" and record["sizeBytes"] == "1000", "finalized file")
    _, body = call(conn, "GET", "/v1beta/" + record["name"], body=None)
    expect(json.loads(body)["state"] == "ACTIVE", "file GET")
    _, body = call(conn, "DELETE", "/v1beta/" + record["name"], body=None)
    expect(json.loads(body) == {}, "file DELETE")


def test_log(world):
    conn = connect(world.endpoint)
    call(conn, "POST", MODEL_PATH, body=b"12345")
    call(connect(world.foreign), "GET", "/v1beta/files/x", body=None)
    with open(world.log.name, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    expect([line["origin"] for line in lines] == ["endpoint", "foreign"], "origins")
    expect(lines[0]["headers"].get("x-goog-api-key") == SELF_TEST_KEY, "headers logged")
    expect(lines[0]["body_bytes"] == 5 and lines[0]["path"] == MODEL_PATH, "body and path")


def test_redirect_302(world):
    answer, _ = call(connect(world.endpoint), "POST", MODEL_PATH)
    location = answer.getheader("Location")
    expect(answer.status == 302 and location == world.foreign + MODEL_PATH,
           f"redirect {answer.status} {location}")
    _, _, path = split_url(location)
    _, body = call(connect(world.foreign), "POST", path)
    expect(FOREIGN_TEXT in model_text(body), "foreign answer")


def test_redirect_loop(world):
    conn = connect(world.endpoint)
    first = call(conn, "POST", STREAM_PATH)[0].getheader("Location")
    second = call(conn, "POST", split_url(first)[2])[0].getheader("Location")
    expect(first.endswith("?alt=sse&n=1") and second.endswith("?alt=sse&n=2"),
           f"locations {first} {second}")


def test_upload_url_foreign(world):
    answer, _ = call(connect(world.endpoint), "POST", "/upload/v1beta/files",
                     headers={"X-Goog-Upload-Command": "start"})
    url = answer.getheader("X-Goog-Upload-URL")
    expect(url == world.foreign + "/upload/v1beta/files?upload_id=evil", f"upload URL {url}")
    _, body = call(connect(world.foreign), "POST", split_url(url)[2], body=b"v",
                   headers={"X-Goog-Upload-Command": "upload, finalize"})
    expect(json.loads(body)["file"]["name"] == "files/evil", "foreign upload accepted")


def test_deep_json(world):
    status = {"deep-json-200": 200, "deep-json-503": 503}[world.scenario]
    answer, body = call(connect(world.endpoint), "POST", MODEL_PATH)
    expect(answer.status == status and body == DEEP_JSON, "deep JSON body")


def finalize_upload(conn, upload_id):
    _, body = call(conn, "POST", f"/upload/v1beta/files?upload_id={upload_id}", body=b"v",
                   headers={"X-Goog-Upload-Command": "upload, finalize"})
    return json.loads(body)["file"]


def test_deep_json_file(world):
    conn = connect(world.endpoint)
    expect(finalize_upload(conn, "d")["state"] == "PROCESSING", "finalize state")
    expect(call(conn, "GET", "/v1beta/files/d", body=None)[1] == DEEP_JSON, "deep file GET")


def test_redirect_file_307(world):
    conn = connect(world.endpoint)
    expect(finalize_upload(conn, "r")["state"] == "PROCESSING", "finalize state")
    answer, _ = call(conn, "GET", "/v1beta/files/r", body=None)
    location = answer.getheader("Location")
    expect(answer.status == 307 and location == world.foreign + "/v1beta/files/r",
           f"redirect {answer.status} {location}")
    record = json.loads(call(connect(world.foreign), "GET", "/v1beta/files/r", body=None)[1])
    expect(record["displayName"] == FOREIGN_TEXT and record["state"] == "ACTIVE", "foreign file")


def test_echo_key_upload_status(world):
    answer, _ = call(connect(world.endpoint), "POST", "/upload/v1beta/files",
                     headers={"X-Goog-Upload-Command": "start"})
    expect(answer.getheader("X-Goog-Upload-URL") is None, "an upload URL came")
    expect(answer.getheader("X-Goog-Upload-Status") == f"error KEY={SELF_TEST_KEY}",
           "key in the upload status")


def test_endless(world):
    status = {"endless-200": 200, "endless-500": 500}[world.scenario]
    conn = connect(world.endpoint)
    conn.request("POST", MODEL_PATH, body=b"{}")
    answer = conn.getresponse()
    got, start = 0, time.monotonic()
    while got <= 1 << 20 and time.monotonic() - start < 2:
        got += len(answer.read(PIECE))
    conn.close()
    expect(answer.status == status and got > 1 << 20, f"{got} bytes in 2 s")


def test_sse_no_newline(world):
    conn = connect(world.endpoint)
    conn.request("POST", STREAM_PATH, body=b"{}")
    head = conn.getresponse().read(256 << 10)
    conn.close()
    expect(head.startswith(b"data: xxx") and b"\n" not in head, "no newline")


def test_sse_comments(world):
    conn = connect(world.endpoint, timeout=5)
    conn.request("POST", STREAM_PATH, body=b"{}")
    first = conn.getresponse().read(14)
    conn.close()
    expect(first == b": keep-alive\n\n", f"first bytes {first!r}")
    conn = connect(world.endpoint, timeout=5)
    conn.request("POST", MODEL_PATH, body=b"{}")
    first = conn.getresponse().read(1)
    conn.close()
    expect(first == b" ", f"generate trickle {first!r}")


def test_never_answer(world):
    conn = connect(world.endpoint, timeout=1)
    try:
        call(conn, "POST", MODEL_PATH)
    except TimeoutError:
        return
    finally:
        conn.close()
    raise Check("an answer came")


def test_echo_key_error(world):
    answer, body = call(connect(world.endpoint), "POST", MODEL_PATH)
    error = json.loads(body)["error"]
    expect(answer.status == 400 and SELF_TEST_KEY in error["message"], "key in the error")


def test_retry(world):
    delay = {"retry-day": "86400s", "retry-overflow": "18446744074s"}[world.scenario]
    answer, body = call(connect(world.endpoint), "POST", MODEL_PATH)
    details = json.loads(body)["error"]["details"]
    expect(answer.status == 429 and details[0]["retryDelay"] == delay, "retryDelay")


def test_invalid_utf8(world):
    answer, body = call(connect(world.endpoint), "POST", MODEL_PATH)
    expect(answer.status == 503 and b"\xff\xfe\xc3\x28" in body and b"overloaded" in body,
           "raw bytes in the error")


def test_ansi_error(world):
    answer, body = call(connect(world.endpoint), "POST", MODEL_PATH)
    expect(answer.status == 400 and b"\\u001b]0;pwned\\u0007" in body
           and json.loads(body)["error"]["message"] == ANSI_MESSAGE, "escapes in the error")


def test_processing_forever(world):
    conn = connect(world.endpoint)
    _, body = call(conn, "POST", "/upload/v1beta/files?upload_id=p",
                   headers={"X-Goog-Upload-Command": "upload, finalize"})
    states = [json.loads(body)["file"]["state"]]
    states += [json.loads(call(conn, "GET", "/v1beta/files/p", body=None)[1])["state"]
               for _ in range(3)]
    expect(states == ["PROCESSING"] * 4, f"states {states}")


def count_rows(text):
    rows = 0

    def count(obj):
        nonlocal rows
        rows += "start" in obj

    json.loads(text, object_hook=count)
    return rows


def transcript_of(world):
    return json.loads(model_text(call(connect(world.endpoint), "POST", MODEL_PATH)[1]))


def test_many_speakers(world):
    document = transcript_of(world)
    companies = {s["company"] for s in document["task2_speakers"]}
    expect(len(companies) == 100000 and len(document["task1_transcripts"]) == 100000,
           "speaker and row counts")


def test_many_small(rows, speakers):
    def test(world):
        body = call(connect(world.endpoint), "POST", MODEL_PATH)[1]
        document = json.loads(model_text(body))
        expect(len(body) < 16 * 1024 * 1024, f"{len(body)} bytes")
        expect((len(document["task1_transcripts"]), len(document["task2_speakers"]))
               == (rows, speakers), "row and speaker counts")
    return test


def test_rows_past_stop(world):
    rows = transcript_of(world)["task1_transcripts"]
    expect([(r["start"], r["end"]) for r in rows] == [
        ("00:01", "00:03"), ("00:05", "00:00"), ("99:59", "99:59"), ("23:59:59", "23:59:59")],
        "row times")


BATCH_PATH = "/v1beta/models/gemini-test:batchGenerateContent"


def finished_batch(world, keys):
    """Create a job of `keys`, poll it once: its inline responses."""
    conn = connect(world.endpoint)
    requests = [{"request": {}, "metadata": {"key": key}} for key in keys]
    body = to_json({"batch": {"displayName": "self-test",
                              "inputConfig": {"requests": {"requests": requests}}}})
    _, created = call(conn, "POST", BATCH_PATH, body=body)
    created = json.loads(created)
    expect(created["metadata"]["state"] == "BATCH_STATE_PENDING", "a new job is pending")
    _, polled = call(conn, "GET", "/v1beta/" + created["name"], body=None)
    polled = json.loads(polled)
    expect(polled["done"] and polled["metadata"]["state"] == "BATCH_STATE_SUCCEEDED",
           "the first poll finds it done")
    return polled["metadata"]["output"]["inlinedResponses"]["inlinedResponses"]


def test_batch_valid(world):
    answers = finished_batch(world, ["in00001#0", "in00002#0"])
    expect([a["metadata"]["key"] for a in answers] == ["in00001#0", "in00002#0"], "keys")
    expect(all(VALID_TEXT in model_text(to_json(a["response"])) for a in answers), "texts")


def test_batch_foreign_keys(world):
    keys = [a["metadata"]["key"] for a in finished_batch(world, ["in00001#0"])]
    expect(keys == ["in00001#0", "../../../hostile-escape", "in00001#0/../../hostile-escape"],
           f"keys {keys}")


def test_batch_echo_key(world):
    answers = finished_batch(world, ["in00001#0", "in00002#0"])
    expect(SELF_TEST_KEY in answers[0]["error"]["message"], "key in the error")
    expect(SELF_TEST_KEY in model_text(to_json(answers[1]["response"])), "key in the text")


def test_many_rows(world):
    rows = count_rows(model_text(call(connect(world.endpoint), "POST", MODEL_PATH)[1]))
    expect(rows == 1000000, f"{rows} rows")


def wait_for_file(path, seconds):
    end = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.05)
    return os.path.exists(path)


def start_cli(tmp, name, max_seconds):
    port_file, log = os.path.join(tmp, f"{name}.ports"), os.path.join(tmp, f"{name}.log")
    process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--scenario", "valid",
                                "--port-file", port_file, "--log", log, "--key", SELF_TEST_KEY,
                                "--max-seconds", str(max_seconds)])
    return process, port_file, log


def test_cli_sigterm(tmp):
    process, port_file, log = start_cli(tmp, "sigterm", 30)
    try:
        expect(wait_for_file(port_file, 10), "no port file")
        with open(port_file, encoding="utf-8") as f:
            urls = json.load(f)
        call(connect(urls["endpoint"]), "POST", MODEL_PATH)
        call(connect(urls["foreign"]), "POST", MODEL_PATH)
        process.send_signal(signal.SIGTERM)
        expect(process.wait(timeout=5) == 0, "exit status after SIGTERM")
    finally:
        if process.poll() is None:
            process.kill()
    with open(log, encoding="utf-8") as f:
        origins = [json.loads(line)["origin"] for line in f]
    expect(origins == ["endpoint", "foreign"], f"logged origins {origins}")


def test_cli_deadline(tmp):
    process, port_file, _ = start_cli(tmp, "deadline", 1)
    try:
        expect(wait_for_file(port_file, 10), "no port file")
        expect(process.wait(timeout=5) == 0, "exit status at the deadline")
    finally:
        if process.poll() is None:
            process.kill()


IN_PROCESS_TESTS = [
    ("valid", test_valid), ("valid", test_log), ("redirect-302", test_redirect_302),
    ("redirect-loop", test_redirect_loop), ("upload-url-foreign", test_upload_url_foreign),
    ("redirect-file-307", test_redirect_file_307),
    ("echo-key-upload-status", test_echo_key_upload_status),
    ("deep-json-200", test_deep_json), ("deep-json-503", test_deep_json),
    ("deep-json-file", test_deep_json_file), ("endless-200", test_endless),
    ("endless-500", test_endless), ("sse-comments", test_sse_comments),
    ("sse-no-newline", test_sse_no_newline), ("never-answer", test_never_answer),
    ("echo-key-error", test_echo_key_error), ("retry-day", test_retry),
    ("retry-overflow", test_retry), ("invalid-utf8-error", test_invalid_utf8),
    ("ansi-error", test_ansi_error), ("processing-forever", test_processing_forever),
    ("many-speakers", test_many_speakers), ("rows-past-stop", test_rows_past_stop),
    ("many-rows-small", test_many_small(100000, 1)),
    ("many-speakers-small", test_many_small(20000, 20000)),
    ("many-rows", test_many_rows), ("valid", test_batch_valid),
    ("batch-foreign-keys", test_batch_foreign_keys), ("batch-echo-key", test_batch_echo_key),
]
SELF_TEST_SECONDS = 55
CLI_TESTS = [test_cli_sigterm, test_cli_deadline]


def report(name, test, argument):
    start = time.monotonic()
    try:
        test(argument)
    except Exception as error:  # a broken check is a failed check, whatever it raised
        print(f"FAIL {name}: {type(error).__name__}: {error}")
        return False
    print(f"ok   {name} ({time.monotonic() - start:.1f} s)")
    return True


def give_up(results):
    """The watchdog: a hung check must not hang the self-test."""
    print(f"FAIL the self-test did not finish in {SELF_TEST_SECONDS} s")
    print(f"{results.count(True)} passed, {results.count(False) + 1} failed", flush=True)
    os._exit(1)


def self_test():
    results = []
    watchdog = threading.Timer(SELF_TEST_SECONDS, give_up, args=(results,))
    watchdog.daemon = True
    watchdog.start()
    with tempfile.TemporaryDirectory() as tmp:
        for i, (scenario, test) in enumerate(IN_PROCESS_TESTS):
            with running(scenario, os.path.join(tmp, f"{i}.log")) as world:
                results.append(report(f"{scenario}: {test.__name__}", test, world))
        results += [report(test.__name__, test, tmp) for test in CLI_TESTS]
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


def main(argv):
    args = parse_args(argv)
    return self_test() if args.self_test else serve(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
