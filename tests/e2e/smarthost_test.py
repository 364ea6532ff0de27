"""End-to-end smarthost delivery: the daemon relays by host name (a real unbound on loopback
answers smtp.test.example) to a private Postfix smtpd that wants SMTP AUTH (Cyrus SASL with a
sasldb of the test's own), which relays to smtp-sink. Cases: AUTH PLAIN over STARTTLS with the
certificate verified against the name; SMTPS (implicit TLS) with the password from the
environment; a wrong password defers with the 535 and the host named in the log, nothing
bounced; AUTH never sent in plaintext unless relay_auth_insecure; a [[route]] sends
corp.example and its subdomains to a second receiver while the rest goes to the smarthost.
Run as: smarthost_test.py --outpost PATH."""
import os
import re
import smtplib
import subprocess
import sys

from dns_server import DnsServer
from harness import run_tests, Outpost, Sink, free_port, message, wait_until, DaemonTest
from postfix_server import PostfixServer
from delivery_tls_test import make_ca, make_leaf

OUTPOST = None
SMARTHOST = "127.0.0.21"
NAME = "smtp.test.example"
REALM = "test.example"
USER = "relayuser@" + REALM
PASSWORD = "correct horse"


def sasl_setup(etc, mechanisms="PLAIN LOGIN"):
    """Cyrus SASL for smtpd: `mechanisms` checked against a sasldb in the config dir."""
    db = os.path.join(etc, "sasldb2")
    # Debian's Postfix reads the SASL application's config from <config_directory>/sasl/.
    os.makedirs(os.path.join(etc, "sasl"))
    with open(os.path.join(etc, "sasl", "smtpd.conf"), "w") as f:
        f.write(f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {db}\n"
                f"mech_list: {mechanisms}\n")
    subprocess.run(["saslpasswd2", "-p", "-c", "-f", db, "-u", REALM, "relayuser"],
                   input=PASSWORD.encode(), check=True, capture_output=True)
    os.chmod(db, 0o644)  # smtpd reads it as the postfix user; a test directory
    # ... through the test's directory (mkdtemp makes it 0700).
    workdir = os.path.dirname(os.path.dirname(etc))
    os.chmod(workdir, 0o711)


class SmarthostTest(DaemonTest):

    def smarthost(self, tls="may", ca=None, mechanisms="PLAIN LOGIN"):
        """Postfix wanting AUTH on `port` (STARTTLS when tls != "none") and on `smtps_port`
        (implicit TLS); relays to a sink only for authenticated clients."""
        self.port, self.smtps_port = free_port(), free_port()
        self.sink = self.started(Sink(self.workdir))
        cert = make_leaf(self.workdir, NAME, ca) if tls != "none" else (None, None)
        main_cf = ("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = cyrus\n"
                   "smtpd_sasl_path = smtpd\n"
                   "smtpd_sasl_security_options = noanonymous\nsmtpd_tls_auth_only = no\n"
                   "mynetworks = 192.0.2.0/32\n"
                   "smtpd_relay_restrictions = permit_sasl_authenticated, reject\n"
                   "smtpd_tls_received_header = yes\n")
        master_cf = ""
        if tls != "none":
            master_cf = (f"{SMARTHOST}:{self.smtps_port} inet n - n - - smtpd "
                         "-o smtpd_tls_wrappermode=yes\n")
        self.postfix = self.started(PostfixServer(
            self.workdir, SMARTHOST, self.port, self.sink.port, tls, *cert,
            main_cf=main_cf, master_cf=master_cf,
            before_start=lambda etc: sasl_setup(etc, mechanisms)))
        self.dns = self.started(DnsServer(self.workdir, [
            f"{NAME}. 300 IN A {SMARTHOST}",
            f"relay.test.example. 300 IN MX 10 {NAME}."]))

    def outpost(self, delivery, extra=None, env=None):
        settings = {
            "log": {"level": '"debug"'},  # a line per recipient outcome, with its TLS
            "dns": {"servers": f'["127.0.0.1:{self.dns.port}"]', "timeout": '"500ms"'},
            "delivery": delivery,
            "queue": {"retry_initial": '"1h"', "retry_max_delay": '"1h"'},
        }
        settings.update(extra or {})
        outpost = Outpost(OUTPOST, self.workdir, 0, settings)
        self.stoppers.append(outpost.stop)
        old = {k: os.environ.get(k) for k in (env or {})}
        os.environ.update(env or {})
        try:
            outpost.start()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return outpost

    def send(self, outpost, tag, recipients):
        with smtplib.SMTP("127.0.0.1", outpost.port, timeout=30) as client:
            for i, rcpt in enumerate(recipients):
                client.send_message(message(i, tag), "sender@example.com", [rcpt])

    def password_file(self, text=PASSWORD + "\n"):
        path = os.path.join(self.workdir, "relay.secret")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def wait_delivered(self, sink, ids, outpost, what):
        try:
            wait_until(lambda: sink.message_ids() >= ids, 60, 0.2, what)
        except AssertionError:
            print(outpost.output()[-4000:], file=sys.stderr)
            print(self.postfix.log()[-4000:], file=sys.stderr)
            raise

    def test_auth_plain_over_starttls_by_name_and_a_route(self):
        ca = make_ca(self.workdir)
        self.smarthost("may", ca)
        corp = self.started(Sink(self.workdir))
        outpost = self.outpost(
            {"relay": f'"[{NAME}]:{self.port}"', "tls": '"verify"', "tls_ca_file": f'"{ca[0]}"',
             "relay_user": f'"{USER}"', "relay_password_file": f'"{self.password_file()}"'},
            {"[route]": {"domain": '"corp.example"', "relay": f'"127.0.0.1:{corp.port}"',
                         "tls": '"opportunistic"'},
             "[route]#2": {"domain": '".corp.example"', "relay": f'"127.0.0.1:{corp.port}"',
                           "tls": '"opportunistic"'}})
        try:
            self.send(outpost, "plain", ["a@example.net", "b@corp.example", "c@eu.corp.example",
                                         "d@example.org"])
        except Exception:
            print(outpost.output()[-4000:], file=sys.stderr)
            raise
        self.wait_delivered(self.sink, {"<plain-0@outpost.test>", "<plain-3@outpost.test>"},
                            outpost, "relayed through the smarthost")
        self.wait_delivered(corp, {"<plain-1@outpost.test>", "<plain-2@outpost.test>"},
                            outpost, "routed to the corp receiver")
        # Each went one way only.
        self.assertEqual(self.sink.message_ids(), {"<plain-0@outpost.test>",
                                                   "<plain-3@outpost.test>"})
        self.assertEqual(corp.message_ids(), {"<plain-1@outpost.test>",
                                              "<plain-2@outpost.test>"})
        log = self.postfix.log()
        self.assertRegex(log, r"sasl_method=PLAIN, sasl_username=" + re.escape(USER))
        # Over TLS, the certificate verified against the name the relay was given.
        self.assertRegex(outpost.output(),
                         r"<a@example\.net>: 250 .*\[tls TLSv1\.[23] \S+ verified")
        self.assertIn("delivery: mail for corp.example goes to", outpost.output())
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 0)

    def test_implicit_tls_with_the_password_from_the_environment(self):
        self.smarthost("may")
        # A bare name takes the MX lookup: relay.test.example's MX is the smarthost.
        outpost = self.outpost(
            {"relay": f'"smtps://relay.test.example:{self.smtps_port}"',
             "relay_user": f'"{USER}"', "relay_password_env": '"OUTPOST_TEST_RELAY_PASSWORD"'},
            env={"OUTPOST_TEST_RELAY_PASSWORD": PASSWORD})
        self.send(outpost, "smtps", ["a@example.net", "b@example.net"])
        self.wait_delivered(self.sink, {"<smtps-0@outpost.test>", "<smtps-1@outpost.test>"},
                            outpost, "relayed over SMTPS")
        self.assertRegex(self.postfix.log(), r"sasl_method=PLAIN, sasl_username=" + re.escape(USER))
        self.assertRegex(outpost.output(), r"<a@example\.net>: 250 .*\[tls TLSv1\.[23] ")
        self.assertEqual(outpost.stop(), 0)

    def test_auth_login_when_the_server_offers_only_login(self):
        self.smarthost("may", mechanisms="LOGIN")
        outpost = self.outpost(
            {"relay": f'"[{NAME}]:{self.port}"', "relay_user": f'"{USER}"',
             "relay_password": f'"{PASSWORD}"'})
        self.send(outpost, "login", ["a@example.net"])
        self.wait_delivered(self.sink, {"<login-0@outpost.test>"}, outpost, "relayed with LOGIN")
        self.assertRegex(self.postfix.log(), r"sasl_method=LOGIN, sasl_username=" + re.escape(USER))
        self.assertEqual(outpost.stop(), 0)

    def test_wrong_password_defers_and_names_the_host(self):
        self.smarthost("may")
        outpost = self.outpost(
            {"relay": f'"[{NAME}]:{self.port}"', "relay_user": f'"{USER}"',
             "relay_password": '"wrong"'})
        self.send(outpost, "wrong", ["a@example.net"])
        wait_until(lambda: "authentication failed at" in outpost.output(), 30, 0.2,
                   "the authentication failure logged")
        log = outpost.output()
        self.assertRegex(log, r"4\.7\.8 authentication failed at smtp\.test\.example "
                              r"\[127\.0\.0\.21:\d+\]: AUTH rejected \(535")
        wait_until(lambda: "recipients deferred 1\n" in outpost.admin("summary"), 30, 0.2,
                   "the part deferred")
        summary = outpost.admin("summary")
        self.assertIn("recipients bounced 0\n", summary)
        self.assertIn("parts 1\n", summary)  # no DSN queued
        self.assertEqual(self.sink.message_ids(), set())
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(outpost.queue_count(), 1)  # waits for its next attempt

    def test_auth_only_over_tls_unless_insecure(self):
        self.smarthost("none")  # AUTH offered in plaintext, no STARTTLS
        delivery = {"relay": f'"[{NAME}]:{self.port}"', "relay_user": f'"{USER}"',
                    "relay_password": f'"{PASSWORD}"'}
        outpost = self.outpost(delivery)
        self.send(outpost, "clear", ["a@example.net"])
        wait_until(lambda: "the connection is not encrypted" in outpost.output(), 30, 0.2,
                   "AUTH refused in plaintext")
        self.assertNotIn("sasl_username", self.postfix.log())
        self.assertEqual(outpost.stop(), 0)
        self.assertEqual(self.sink.message_ids(), set())
        # The same queue with the switch on: the message goes, AUTH in plaintext.
        outpost = self.outpost(dict(delivery, relay_auth_insecure="true",
                                    reconnect_delay='"200ms"'),
                               {"queue": {"retry_initial": '"1s"', "retry_max_delay": '"1s"'}})
        self.assertIn("applied 1", outpost.admin("retry", "--destination", "relay"))
        self.wait_delivered(self.sink, {"<clear-0@outpost.test>"}, outpost, "relayed in plaintext")
        self.assertRegex(self.postfix.log(), r"sasl_method=PLAIN, sasl_username=" + re.escape(USER))
        self.assertEqual(outpost.stop(), 0)


if __name__ == "__main__":
    run_tests(sys.modules[__name__])
