"""A fake Alibaba Cloud SMS endpoint on 127.0.0.1: a real HTTP server in a thread, which checks
each request's signature on its own (not with the code under test), records what it was sent, and
answers as it is told: {"status": 500} for the next SendSms, {"hang": True} to take a message and
then never answer (a worker killed in between), or the usual "OK".

``delivered`` lists the messages it accepted (its "OK" sends, and the ones it took before hanging),
each {"to", "template", "text", "out_id"}; QuerySendDetails answers from that list by OutId.
"""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote

KEY_ID, SECRET = "test-key-id", "test-key-secret"


def _expected_signature(params: dict) -> str:
    # Alibaba Cloud's RPC signature, version 1.0, written out again for the fake.
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    query = "&".join(f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in pairs)
    to_sign = "POST&%2F&" + quote(query, safe="~")
    mac = hmac.new((SECRET + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


class FakeAliyun:
    def __init__(self):
        self.delivered: list[dict] = []
        self.requests: list[dict] = []
        self.script: list[dict] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                fake.requests.append(params)
                if params.get("AccessKeyId") != KEY_ID or params.get("Signature") != _expected_signature(
                    params
                ):
                    return self._answer(400, {"Code": "SignatureDoesNotMatch", "Message": "bad signature"})
                if params.get("Action") == "SendSms":
                    return fake._send(self, params)
                if params.get("Action") == "QuerySendDetails":
                    details = [
                        {"OutId": m["out_id"], "PhoneNum": m["to"], "SendStatus": 3, "Content": m["text"]}
                        for m in fake.delivered
                        if m["to"] == params.get("PhoneNumber")
                    ]
                    body = {
                        "Code": "OK",
                        "TotalCount": len(details),
                        "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
                    }
                    return self._answer(200, body)
                return self._answer(400, {"Code": "InvalidAction"})

            def _answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # the client of a "hang" went away: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def _send(self, handler, params):
        step = self.script.pop(0) if self.script else {}
        message = {
            "to": params["PhoneNumbers"],
            "template": params["TemplateCode"],
            "text": json.loads(params["TemplateParam"])["content"],
            "out_id": params.get("OutId", ""),
        }
        if step.get("status", 200) >= 500:
            return handler._answer(step["status"], {"Code": "InternalError", "Message": "try later"})
        if step.get("code"):
            return handler._answer(200, {"Code": step["code"], "Message": "refused"})
        self.delivered.append(message)
        if step.get("hang"):
            # Took the message; the answer never comes (the worker is killed while it waits).
            self.release.wait(30)
            return None
        return handler._answer(200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.delivered)}"})

    def texts_to(self, phone: str) -> list[str]:
        return [m["text"] for m in self.delivered if m["to"] == phone]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
