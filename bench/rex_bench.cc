// Load generator for rexd's Trader, used by bench/trader_compare.py.
//
//   rex_bench exports ADDR CLIENTS SECONDS  durable exports, each client
//                                           waiting for every acknowledgement
//   rex_bench load ADDR OFFERS              fill the trader (pipelined)
//   rex_bench query ADDR COUNT CONSTRAINT PREF   sequential query latency; in
//                                           CONSTRAINT %d is a varying serial, %e it + 20
//   rex_bench fanout ADDR SUBSCRIBERS EVENTS FILTER   Notify: EVENTS pipelined
//                                           publishes (field n = 0..EVENTS-1, a 64-byte
//                                           body) to SUBSCRIBERS with FILTER, each
//                                           granting credit as it reads; ops counts
//                                           deliveries, latency is per publish ack
//
// Prints one JSON object: ops, seconds, per_second, p50_ms, p99_ms.
// With BENCH_IDENTITY=FILE it authenticates as that key (rex keygen).
// With BENCH_TLS_CA=FILE in the environment it connects with TLS, verifying
// rexd against that CA.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/key_file.h"
#include "io/rex_client.h"
#include "notify/notify_requests.h"
#include "rex/body.h"
#include "trader/trader_requests.h"

namespace {

using namespace ardus;
using Clock = std::chrono::steady_clock;
using trader::Method;

std::unique_ptr<rex::Client> Connect(const std::string& addr) {
  rex::ConnectOptions options;
  if (const char* ca = std::getenv("BENCH_TLS_CA"); ca && *ca) {
    std::ifstream in(ca);
    std::ostringstream pem;
    pem << in.rdbuf();
    options.tls = tls::ClientConfig{};
    options.tls->ca_pem = pem.str();
  }
  // With BENCH_IDENTITY=FILE (a rex keygen key) every connection proves it.
  static const std::optional<seal::Identity> identity = [] {
    std::optional<seal::Identity> id;
    if (const char* file = std::getenv("BENCH_IDENTITY"); file && *file) {
      auto loaded = net::LoadIdentity(file);
      if (!loaded.ok()) {
        fmt::print(stderr, "rex_bench: {}\n", loaded.status().message());
        std::exit(2);
      }
      id.emplace(std::move(loaded).value());
    }
    return id;
  }();
  if (identity) options.credentials = {&*identity, "trader"};
  auto c = rex::Client::Connect(addr, 5000, "rex_bench", options);
  if (!c.ok()) {
    fmt::print(stderr, "rex_bench: {}\n", c.status().message());
    std::exit(3);
  }
  return std::move(c).value();
}

bool Check(const Result<rex::Reply>& r) {
  if (!r.ok()) {
    fmt::print(stderr, "rex_bench: {}\n", r.status().message());
    std::exit(4);
  }
  if (!r.value().ok()) {
    fmt::print(stderr, "rex_bench: {}: {}\n", rex::CodeName(r.value().error().code),
               r.value().error().message);
    std::exit(1);
  }
  return true;
}

// One offer of the benchmark's type, with a lease as providers would use.
template <class T>
rex::BodyWriter Body(const T& request) {
  rex::BodyWriter w;
  Encode(w, request);  // the protocol's codec, found by argument-dependent lookup
  return w;
}

rex::BodyWriter ExportBody(std::uint64_t n) {
  static const char* kZones[] = {"cam-1", "cam-2", "lon-1", "lon-2", "man-1", "edi-1"};
  return Body(
      trader::ExportRequest{"bench_printer",
                            {{"ppm", std::int64_t(n % 100)},
                             {"serial", std::int64_t(n)},
                             {"location", fmt::format("{} room {}", kZones[n % 6], n % 997)},
                             {"colour", n % 3 == 0}},
                            3600});
}

void EnsureType(rex::Client& c) {
  using tcl::BaseType;
  trader::ServiceType type{"bench_printer",
                           {},
                           {{"ppm", {BaseType::kInt, false}},
                            {"serial", {BaseType::kInt, false}},
                            {"location", {BaseType::kString, false}},
                            {"colour", {BaseType::kBool, false}}}};
  rex::BodyWriter w;
  trader::EncodeServiceType(w, type);
  auto r = c.Call(static_cast<std::uint16_t>(Method::kAddType), w.bytes());
  if (r.ok() && !r.value().ok() && r.value().error().code == rex::Code::kDuplicateType) return;
  Check(r);
}

void Report(std::uint64_t ops, double seconds, std::vector<double> lat_ms) {
  std::sort(lat_ms.begin(), lat_ms.end());
  auto pct = [&](double p) {
    return lat_ms.empty() ? 0.0
                          : lat_ms[std::min(lat_ms.size() - 1, std::size_t(p * lat_ms.size()))];
  };
  fmt::print(
      "{{\"ops\": {}, \"seconds\": {:.3f}, \"per_second\": {:.0f}, \"p50_ms\": {:.4f}, "
      "\"p99_ms\": {:.4f}}}\n",
      ops, seconds, ops / seconds, pct(0.50), pct(0.99));
}

int Exports(const std::string& addr, int clients, double seconds) {
  EnsureType(*Connect(addr));
  std::atomic<std::uint64_t> serial{1'000'000'000};
  std::vector<std::vector<double>> lat(clients);
  std::vector<std::thread> threads;
  auto start = Clock::now();
  auto stop = start + std::chrono::duration<double>(seconds);
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back([&, i] {
      auto c = Connect(addr);
      while (Clock::now() < stop) {
        auto body = ExportBody(serial++);
        auto t0 = Clock::now();
        Check(c->Call(static_cast<std::uint16_t>(Method::kExport), body.bytes()));
        lat[i].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::uint64_t ops = all.size();
  Report(ops, elapsed, std::move(all));
  return 0;
}

int Load(const std::string& addr, std::uint64_t offers) {
  auto c = Connect(addr);
  EnsureType(*c);
  constexpr std::uint64_t kWindow = 256;
  std::uint64_t sent = 0, acked = 0;
  auto start = Clock::now();
  while (acked < offers) {
    while (sent < offers && sent - acked < kWindow) {
      auto body = ExportBody(sent++);
      if (!c->Send(static_cast<std::uint16_t>(Method::kExport), body.bytes()).ok()) return 4;
    }
    auto f = c->Receive(10000);
    if (!f.ok() || f.value().kind != rex::Kind::kReply) {
      fmt::print(stderr, "rex_bench: load failed at {}\n", acked);
      return 4;
    }
    ++acked;
  }
  Report(acked, std::chrono::duration<double>(Clock::now() - start).count(), {});
  return 0;
}

int Query(const std::string& addr, int count, const std::string& constraint,
          const std::string& pref) {
  auto c = Connect(addr);
  {
    // Not timed: the first query on a property builds that property's index.
    trader::QueryRequest q{"bench_printer", "serial == 0 and ppm == 0"};
    Check(c->Call(static_cast<std::uint16_t>(Method::kQuery), Body(q).bytes()));
  }
  std::vector<double> lat;
  std::uint64_t results = 0;
  auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    // Vary the selective value so each query touches different offers:
    // %d is a serial number, %e the same plus 20.
    std::string text = constraint;
    std::uint64_t v = 1000 + (std::uint64_t(i) * 7919) % 90000;
    for (auto [mark, value] : {std::pair{"%d", v}, {"%e", v + 20}}) {
      for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark)) {
        text.replace(at, 2, std::to_string(value));
      }
    }
    trader::QueryRequest q{"bench_printer", text, pref};
    q.page_size = 10;
    auto w = Body(q);
    auto t0 = Clock::now();
    auto r = c->Call(static_cast<std::uint16_t>(Method::kQuery), w.bytes());
    lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    Check(r);
    auto body = rex::BodyReader::Parse(r.value().value());
    auto page = body.ok() ? trader::DecodePage(body.value()) : body.error();
    if (page.ok()) results += page.value().offers.size();
  }
  fmt::print(stderr, "rex_bench: {} queries returned {} offers\n", count, results);
  std::uint64_t ops = lat.size();
  Report(ops, std::chrono::duration<double>(Clock::now() - start).count(), std::move(lat));
  return results > 0 ? 0 : 1;
}

// Reads pushes until `want` events arrived or were reported missed (a gap),
// granting credit in halves.
void Subscriber(rex::Client& c, std::uint64_t sub, std::uint64_t want,
                std::atomic<std::uint64_t>& delivered, std::atomic<std::uint64_t>& missed) {
  constexpr std::uint32_t kCredit = 1024;
  std::uint64_t got = 0, lost = 0, since_credit = 0;
  while (got + lost < want) {
    auto f = c.NextFrame(10000);
    if (!f.ok()) {
      fmt::print(stderr, "rex_bench: subscriber stalled at {}/{}: {}\n", got, want,
                 f.status().message());
      std::exit(4);
    }
    if (f.value().kind != rex::Kind::kPush) continue;
    if (f.value().method == static_cast<std::uint16_t>(notify::Method::kGap)) {
      auto gap = rex::BodyReader::Parse(f.value().body);
      if (gap.ok()) lost += notify::DecodeGapPush(gap.value()).value().missed;
      continue;
    }
    ++got;
    if (++since_credit == kCredit / 2) {
      since_credit = 0;
      (void)c.Send(static_cast<std::uint16_t>(notify::Method::kCredit),
                   Body(notify::CreditRequest{sub, kCredit / 2}).bytes());
    }
  }
  delivered += got;
  missed += lost;
}

int Fanout(const std::string& addr, int subscribers, std::uint64_t events,
           const std::string& filter) {
  using notify::Method;
  std::vector<std::unique_ptr<rex::Client>> subs;
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < subscribers; ++i) {
    subs.push_back(Connect(addr));
    notify::SubscribeRequest request;
    request.channel = "bench";
    request.filter = filter;
    request.credit = 1024;
    request.max_queue = 100'000;
    auto r =
        subs.back()->Call(static_cast<std::uint16_t>(Method::kSubscribe), Body(request).bytes());
    Check(r);
    auto body = rex::BodyReader::Parse(r.value().value());
    auto subscribed = body.ok() ? notify::DecodeSubscribed(body.value()) : body.error();
    ids.push_back(subscribed.ok() ? subscribed.value().subscription : 0);
  }
  std::atomic<std::uint64_t> delivered{0}, missed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < subscribers; ++i) {
    threads.emplace_back([&, i] { Subscriber(*subs[i], ids[i], events, delivered, missed); });
  }
  auto pub = Connect(addr);
  constexpr std::uint64_t kWindow = 256;
  std::vector<Clock::time_point> sent_at;
  std::vector<double> lat;
  std::uint64_t sent = 0, acked = 0;
  const std::string body(64, 'b');
  auto start = Clock::now();
  while (acked < events) {
    while (sent < events && sent - acked < kWindow) {
      notify::PublishRequest request{"bench", {}};
      notify::Event& e = *request.event.event;
      e.domain = "bench";
      e.type = "tick";
      e.name = "e";
      e.fields = {{"n", static_cast<std::int64_t>(sent)}};
      e.body = body;
      auto w = Body(request);
      sent_at.push_back(Clock::now());
      if (!pub->Send(static_cast<std::uint16_t>(Method::kPublish), w.bytes()).ok()) return 4;
      ++sent;
    }
    auto f = pub->Receive(10000);
    if (!f.ok() || f.value().kind != rex::Kind::kReply) {
      fmt::print(stderr, "rex_bench: publish failed at {}\n", acked);
      return 4;
    }
    lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent_at[acked]).count());
    ++acked;
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (missed) fmt::print(stderr, "rex_bench: subscribers missed {} events\n", missed.load());
  Report(delivered.load(), elapsed, std::move(lat));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 4 && a[0] == "exports") return Exports(a[1], std::stoi(a[2]), std::stod(a[3]));
  if (a.size() == 3 && a[0] == "load") return Load(a[1], std::stoull(a[2]));
  if (a.size() == 5 && a[0] == "query") return Query(a[1], std::stoi(a[2]), a[3], a[4]);
  if (a.size() == 5 && a[0] == "fanout") {
    return Fanout(a[1], std::stoi(a[2]), std::stoull(a[3]), a[4]);
  }
  fmt::print(stderr,
             "usage: rex_bench exports ADDR CLIENTS SECONDS | load ADDR OFFERS | "
             "query ADDR COUNT CONSTRAINT PREF | fanout ADDR SUBSCRIBERS EVENTS FILTER\n");
  return 2;
}
