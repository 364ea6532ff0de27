// [[dkim]] of the configuration: the signing keys, each with the role that picks how it is used
// (see deploy/outpost.toml). Parsed here through base/config_reader.h; the daemon loads the
// key files into a dkim::KeyRing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/config_reader.h"
#include "base/result.h"
#include "dkim/keyring.h"

namespace mta::dkim {

struct SigningKeyConfig {
  std::string domain;
  std::string selector;
  std::string key_path;              // `key`: a PEM file
  std::string algorithm;             // "" = the key's own; else checked against it
  std::vector<std::string> headers;  // empty = the default list
  std::string role = "author";       // "author" | "fallback" | "platform"
};

// Every [[dkim]] entry of the file, in order.
Result<void> parse_signing_keys(const config::Document& file, std::vector<SigningKeyConfig>& out);

// The [[dkim]] keys, read from their files once (at start, and on reload): none configured =
// nullopt (mail goes out unsigned). A key that cannot be used is an error at its entry's `key`
// line in `locations` ("FILE:LINE: dkim[1].key: ..."), so a start stops and a reload keeps the
// old ring. `role` sets the ring's fallback and platform domains.
Result<std::optional<KeyRing>> load_signing_keys(const std::vector<SigningKeyConfig>& keys,
                                                 const config::Locations& locations);

}  // namespace mta::dkim
