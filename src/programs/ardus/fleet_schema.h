// The Trader service type an ardus agent advertises itself as, and the
// Notify events a transfer publishes: the names both sides of a fleet agree
// on (`ardus agent` exports the offer, `ardus send --to` queries it, audit
// subscribers filter the events). docs/fleet.md describes both.
//
// Thread-safety: constants only.
#pragma once

#include <string_view>

namespace ardus::fleet {

inline constexpr std::string_view kProgramVersion = "0.1.0";

// ---- The Trader offer of an agent ----
inline constexpr std::string_view kReceiverType = "ardus_receiver";

// Declared properties of kReceiverType (name, TCL type). Labels
// (`--label site=lab`) are offered as undeclared properties of their own,
// strings, and may not reuse these names.
struct DeclaredProperty {
  std::string_view name;
  std::string_view type;  // tcl::ParseTypeName text
};
inline constexpr DeclaredProperty kReceiverProperties[] = {
    {"host", "string"},         // the agent's host name
    {"addresses", "string[]"},  // its IP addresses
    {"interface", "string"},    // the interface it receives on ("" = any)
    {"group", "string"},        // the multicast group it listens to
    {"port", "int"},            // and the data port
    {"version", "string"},      // ardus version (kProgramVersion)
    {"fingerprint", "string"},  // its identity's fingerprint (closed groups)
    {"free", "int"},            // free bytes in its destination, refreshed
    {"state", "string"},        // "idle" or "receiving"
};
inline constexpr std::string_view kStateIdle = "idle";
inline constexpr std::string_view kStateReceiving = "receiving";

// ---- Notify events ----
// Published to a persistent channel (`--events CHANNEL`). Each event's
// header is domain "ardus", a type and a name: `ardus/receiver/failed` is
// domain ardus, type receiver, name failed. Every event also carries the
// name as its field `status`, so that an audit filter reads
// `$type_name == 'receiver' and $.status == 'failed'`.
inline constexpr std::string_view kDefaultEventChannel = "ardus";
inline constexpr std::string_view kEventDomain = "ardus";
struct EventKind {
  std::string_view type;
  std::string_view name;
};
inline constexpr EventKind kSessionAnnounced{"session", "announced"};
inline constexpr EventKind kReceiverJoined{"receiver", "joined"};
inline constexpr EventKind kReceiverProgress{"receiver", "progress"};  // <= 1/s per receiver
inline constexpr EventKind kReceiverVerified{"receiver", "verified"};
inline constexpr EventKind kReceiverFailed{"receiver", "failed"};
inline constexpr EventKind kSessionDone{"session", "done"};
inline constexpr EventKind kHookDone{"hook", "done"};

}  // namespace ardus::fleet
