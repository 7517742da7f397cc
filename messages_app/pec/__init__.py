"""PEC (Posta Elettronica Certificata, see /work/shared/PEC.md): pure logic, no database, no network.

- `kinds`: what a message is, from the headers the providers set (envelope, anomaly, receipt type).
- `daticert`: the certification data of `daticert.xml`, parsed with entities and DTDs refused.
- `envelope`: the parts of an envelope or receipt (`daticert.xml`, `postacert.eml`, `smime.p7s`)
  and the inner message, the one shown to the reader.
- `signature`: the provider's S/MIME signature checked with the `openssl` command.
"""
