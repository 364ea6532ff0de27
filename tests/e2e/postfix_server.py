"""A private Postfix smtpd as a receiving MX for the tests, with its own config and queue
directories (`postfix -c DIR start|stop`; the system's Postfix is never touched). It listens
on one loopback address, takes mail for any domain from anyone on 127.0.0.0/8 and relays it to
a sink, adding a Received header that names the TLS protocol and cipher when TLS was used.

    server = PostfixServer(workdir, "127.0.0.11", port, sink_port, tls="may",
                           cert=cert_path, key=key_path)
    ...
    server.stop()

tls: "none" (no STARTTLS offered), "may" (offered) or "encrypt" (MAIL refused without it).
"""
import os
import shutil
import socket
import subprocess
import time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixServer:
    def __init__(self, workdir, address, port, sink_port, tls="may", cert=None, key=None,
                 main_cf="", master_cf="", before_start=None):
        """main_cf: lines appended to main.cf (a later line wins); master_cf: more services;
        before_start(etc_dir): called once the config directory is written."""
        self.dir = os.path.join(workdir, f"postfix-{address}")
        self.address, self.port = address, port
        etc = self.etc = os.path.join(self.dir, "etc")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(etc)
        os.makedirs(os.path.join(self.dir, "spool"))
        shutil.copy("/etc/postfix/dynamicmaps.cf", etc)
        tls_lines = f"smtpd_tls_security_level = {tls}\n"
        if tls != "none":
            tls_lines += (f"smtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n"
                          "smtpd_tls_received_header = yes\nsmtpd_tls_loglevel = 1\n")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {os.path.join(self.dir, 'spool')}
data_directory = {os.path.join(self.dir, 'data')}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {os.path.join(self.dir, 'maillog')}
maillog_file_prefixes = {self.dir}
myhostname = postfix-{address.replace('.', '-')}.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink_port}
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_peername_lookup = no
in_flow_delay = 0
smtp_tls_security_level = none
{tls_lines}{main_cf}""")
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(listen=f"{address}:{port}") + master_cf)
        if before_start:
            before_start(etc)
        subprocess.run([POSTFIX, "-c", etc, "check"], check=True, capture_output=True)
        out = subprocess.run([POSTFIX, "-c", etc, "start"], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("postfix start failed: " + out.stderr)
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex((address, port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"postfix did not listen on {address}:{port}")
            time.sleep(0.05)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def master_pid(self):
        try:
            with open(os.path.join(self.dir, "spool", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        master = self.master_pid()
        subprocess.run([POSTFIX, "-c", self.etc, "stop"], capture_output=True)
        deadline = time.monotonic() + 30
        while master and os.path.exists(f"/proc/{master}") and time.monotonic() < deadline:
            time.sleep(0.1)
