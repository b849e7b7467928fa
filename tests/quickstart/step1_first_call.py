import os
from datetime import datetime, timedelta, timezone
import requests

base_url = os.environ["POLYAI_BASE_URL"]
account_id = os.environ["POLYAI_ACCOUNT_ID"]
project_id = os.environ["POLYAI_PROJECT_ID"]
headers = {"x-api-key": os.environ["POLYAI_API_KEY"]}

end = datetime.now(timezone.utc)
start = end - timedelta(hours=24)

response = requests.get(
    f"{base_url}/v3/{account_id}/{project_id}/conversations",
    headers=headers,
    params={
        "start_time": start.isoformat().replace("+00:00", "Z"),
        "end_time": end.isoformat().replace("+00:00", "Z"),
        "limit": 1,
    },
)
response.raise_for_status()
print(response.json())
