# SPDX-License-Identifier: LGPL-2.1-or-later
"""The gemini-emulator program for Python tests: started on a free port,
scripted and read through its /emulator/ control calls."""
import json
import re
import signal
import subprocess
import urllib.request


class EmulatorProgram:
    def __init__(self, path, key="test-key"):
        self.key = key
        self.proc = subprocess.Popen([path, "--port", "0"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"gemini-emulator listening on (http://127\.0\.0\.1:\d+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("the emulator did not start: " + line)
        self.url = m.group(1)

    def post(self, path, body=b"{}"):
        req = urllib.request.Request(self.url + path, data=body, method="POST")
        urllib.request.urlopen(req).read()

    def setup(self, script):
        """A fresh log and state, then `script` (docs/emulator.md)."""
        self.post("/emulator/reset")
        self.post("/emulator/script", json.dumps(script).encode())

    def log(self):
        return json.load(urllib.request.urlopen(self.url + "/emulator/log"))["requests"]

    def kinds(self, kind):
        return [e for e in self.log() if e["kind"] == kind]

    def get(self, path):
        """A Gemini API GET, with the key."""
        req = urllib.request.Request(self.url + path, headers={"x-goog-api-key": self.key})
        return json.load(urllib.request.urlopen(req))

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
