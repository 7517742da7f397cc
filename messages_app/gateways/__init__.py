"""The only code that imports protocol libraries (imapclient, aiosmtplib, poplib, sievelib)."""
