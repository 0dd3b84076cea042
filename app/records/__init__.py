"""What the app keeps about people and their work: accounts and roles, the audit log with
feedback, incidents. The only room that opens the app's database (``database``); it imports
nothing of the answer path, ops, ui or commands."""
