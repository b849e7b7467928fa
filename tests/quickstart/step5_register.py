res = requests.post(
    f"{os.environ['POLYAI_PLATFORM_URL']}/v1/webhooks/endpoints",
    headers={**headers, "Content-Type": "application/json"},
    json={
        "url": "https://your-service.example.com/polyai-events",
        "description": "Post-call ingestion",
        "events": ["conversation.completed", "handoff.created"],
    },
)
res.raise_for_status()
endpoint = res.json()
print(endpoint["id"], endpoint["signing_secret"])
