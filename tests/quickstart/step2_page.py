def iter_conversations(start, end, page_size=200):
    cursor = None
    while True:
        params = {
            "start_time": start,
            "end_time": end,
            "limit": page_size,
            "client_env": "live",
        }
        if cursor:
            params["cursor"] = cursor

        page = requests.get(
            f"{base_url}/v3/{account_id}/{project_id}/conversations",
            headers=headers,
            params=params,
        )
        page.raise_for_status()
        body = page.json()

        for conv in body["conversations"]:
            yield conv

        cursor = body.get("cursor")
        if not cursor:
            return

for conv in iter_conversations(start.isoformat(), end.isoformat()):
    print(conv["id"], conv["num_turns"], conv["total_duration"])
