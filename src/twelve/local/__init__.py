"""``twelve local``: a Procfile app in the foreground, with the server's spawn, environment and logs."""
