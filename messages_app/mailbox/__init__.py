"""Reads behind the mailbox screens: scopes (what a list shows), keyset pages, threads, search,
unread counts. Every function takes the user and never returns another user's rows."""
