"""App webhooks: platform events as signed JSON to a URL, retried with backoff for a day."""
