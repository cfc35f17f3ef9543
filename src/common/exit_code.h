// Every program's exit codes, in one place: `ardus` (send, receive, doctor), `rex`
// (the REX CLI) and `rexd` (the daemon). Each program's --help footer and the
// README say the same in words; tests/integration/cli_usage.sh and the
// rexd_*.sh tests check the values.
//
// 0, 2 and 130 mean the same everywhere. 1, 3 and 4 mean different things in
// different programs (the values predate this file and scripts depend on
// them), so each program uses only its own names below.
#pragma once

namespace ardus::exit_code {

// --- every program
inline constexpr int kOk = 0;             // done (rexd: stopped by SIGINT/SIGTERM)
inline constexpr int kUsage = 2;          // bad command line; nothing was done
inline constexpr int kInterrupted = 130;  // stopped by SIGINT (ardus, rex)

// --- ardus send / receive
inline constexpr int kFailed = 1;      // a receiver failed or timed out / this session failed
inline constexpr int kNoPeer = 3;      // no receiver joined / no session seen within --timeout
inline constexpr int kLocalError = 4;  // local I/O: unreadable source, socket, destination

// --- ardus doctor (0: no check failed; warnings may be printed)
inline constexpr int kFindings = 1;  // at least one check failed (each printed with its fix)

// --- rex
inline constexpr int kRefused = 1;      // the server refused the request (error name printed)
inline constexpr int kUnreachable = 3;  // cannot reach the server
inline constexpr int kProtocol = 4;     // the server broke the protocol or closed the connection

// --- rexd
inline constexpr int kCannotStart = 4;  // cannot listen, or open or lock --data
inline constexpr int kStoreFailed = 5;  // a store failed while serving (restart rexd)

}  // namespace ardus::exit_code
