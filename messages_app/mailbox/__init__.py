"""Reads behind the mailbox screens: scopes (what a list shows), keyset pages, threads, search,
unread counts. Every function takes the user and reads through selectors/ (the visibility
rule); none filters by owner itself."""
