res = requests.get(
    f"{base_url}/v3/{account_id}/{project_id}/conversations/{conv_id}/audio",
    headers=headers,
    stream=True,
)
res.raise_for_status()

with open(f"{conv_id}.wav", "wb") as f:
    for chunk in res.iter_content(chunk_size=1 << 14):
        f.write(chunk)
