conv_id = "your_conversation_id"
res = requests.get(
    f"{base_url}/v3/{account_id}/{project_id}/conversations/{conv_id}",
    headers=headers,
)
res.raise_for_status()
conv = res.json()

for turn in conv["turns"]:
    speaker = "USER " if turn["user_input"] else "AGENT"
    text = turn["user_input"] or turn["agent_response"]
    print(f"{turn['user_input_datetime']}  {speaker}  {text}")
