import hashlib
import hmac
from flask import Flask, request, abort

app = Flask(__name__)
SIGNING_SECRET = os.environ["POLYAI_WEBHOOK_SECRET"].encode()

@app.post("/polyai-events")
def handle():
    body = request.get_data()
    sig = request.headers.get("X-PolyAI-Signature", "")

    expected = hmac.new(SIGNING_SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig, expected):
        abort(401)

    event = request.get_json()
    if event["type"] == "conversation.completed":
        process_conversation(event["data"]["conversation_id"])
    return "", 204
