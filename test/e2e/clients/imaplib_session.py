"""A session with Python's imaplib against Petrel; prints one JSON object.

Usage: imaplib_session.py PORT USER PASSWORD
"""
import imaplib
import json
import sys

port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
M = imaplib.IMAP4("127.0.0.1", port)
out["capabilities"] = sorted(M.capabilities)
typ, _ = M.login(user, password)
out["login"] = typ
typ, data = M.list()
out["list"] = [d.decode() for d in data]
msg = b"From: py@example.org\r\nSubject: imaplib test\r\n\r\nbody from python\r\n"
typ, data = M.append("INBOX", r"(\Flagged)", imaplib.Time2Internaldate(1700000000), msg)
out["append"] = [typ, data[0].decode()]
typ, data = M.select("INBOX")
out["select"] = [typ, data[0].decode()]
typ, data = M.search(None, "FLAGGED")
out["search_flagged"] = data[0].decode()
typ, data = M.uid("SEARCH", None, "BODY", "python")
out["uid_search_body"] = data[0].decode()
typ, data = M.fetch("1", "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
out["fetch_header"] = [data[0][0].decode(), data[0][1].decode()]
typ, data = M.fetch("1", "(BODY[TEXT])")
out["fetch_text"] = data[0][1].decode()
typ, data = M.fetch("1", "(FLAGS)")
out["flags_after_body"] = data[0].decode()
typ, data = M.store("1", "+FLAGS", r"(\Deleted)")
out["store"] = data[0].decode()
typ, data = M.expunge()
out["expunge"] = [d.decode() for d in data if d]
typ, data = M.status("INBOX", "(MESSAGES UIDNEXT)")
out["status"] = data[0].decode()
typ, data = M.create("Projects/2026")
out["create"] = typ
typ, data = M.rename("Projects", "Work")
out["rename"] = typ
typ, data = M.list('""', "Work*")
out["list_work"] = [d.decode() for d in data]
M.close()
typ, data = M.logout()
out["logout"] = typ
print(json.dumps(out))
