// What one shard runs; created on the shard's thread by the runtime's init (Daemon::
// start_shard), destroyed by the main thread after every shard thread has exited, members in
// reverse: listeners before what they feed.
#pragma once

#include <cstdint>
#include <memory>

#include "app/admin.h"
#include "base/result.h"
#include "delivery/dns_poller.h"
#include "delivery/shard_delivery.h"
#include "dns/ares_resolver.h"
#include "dns/caching_resolver.h"
#include "injection/api.h"
#include "injection/injector.h"
#include "injection/submission.h"
#include "mailbox/bounce_listener.h"
#include "mailbox/imap_listener.h"
#include "mailbox/intake.h"
#include "mailbox/intake_limit.h"
#include "mailbox/pop3_listener.h"
#include "mailbox/store.h"
#include "queue/group_commit.h"
#include "queue/message_id.h"
#include "server/http_listener.h"
#include "tls/context.h"

namespace mta::app {

struct ShardServices {
  // MX resolution (no relay): c-ares polled on the shard's ring, and the shard's cache.
  std::unique_ptr<dns::AresResolver> ares;
  std::unique_ptr<delivery::DnsPoller> dns_poller;
  std::unique_ptr<dns::CachingResolver> mx;
  std::unique_ptr<queue::MessageIdGenerator> ids;
  std::unique_ptr<queue::GroupCommit> committer;
  std::unique_ptr<delivery::ShardDelivery> delivery;
  std::unique_ptr<injection::Injector> injector;  // shared by SMTP submission and the HTTP API
  std::unique_ptr<injection::SubmissionListener> submission;
  std::unique_ptr<injection::HttpApi> api;
  std::unique_ptr<AdminApi> admin;
  std::unique_ptr<server::HttpListener> http;
  std::unique_ptr<server::HttpListener> metrics;  // [metrics] listen, when set
  // The bounce mailbox, on shard 0 only (mailbox_shard): the intake and its SMTP listener.
  std::unique_ptr<mailbox::BounceIntake> intake;
  mailbox::MailStore* mail = nullptr;                     // the store, for its metrics
  std::unique_ptr<mailbox::IntakeLimiter> bounce_limits;  // per client; outlives bounce_smtp
  std::unique_ptr<mailbox::BounceListener> bounce_smtp;
  std::unique_ptr<mailbox::Pop3Listener> pop3;
  std::unique_ptr<mailbox::ImapListener> imap;
  // What the last history expiry (shard 0 only) did; written on the worker, read in its done.
  Result<std::uint64_t> history_expired = std::uint64_t{0};
  // TLS: this shard's server certificate (same ticket keys on every shard) and its outbound
  // contexts, opportunistic (no verification required) and verifying.
  std::unique_ptr<tls::ServerContext> tls_server;
  std::unique_ptr<tls::ClientContext> tls_client;
  std::unique_ptr<tls::ClientContext> tls_verify;
};

}  // namespace mta::app
