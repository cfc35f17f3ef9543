// Fan-out load generator for rexd Notify, nats-server and mosquitto, driven
// by bench/notify_compare.py.
//
//   notify_bench SYSTEM ADDR SUBSCRIBERS MESSAGES RATE
//
// SYSTEM is rex, nats or mosquitto; or rex-durable (nats-jetstream): publish
// MESSAGES to a persistent channel (a file-backed stream) with no subscribers
// and report acknowledged publishes/s. One publisher sends
// MESSAGES messages of 128 bytes (RATE per second, or as fast as it can when RATE is 0) to
// SUBSCRIBERS subscribers, each on its own connection and thread. The first
// 8 bytes carry the send time, so every delivery yields a latency sample.
// Prints one JSON line: published, delivered, seconds (first publish to last
// delivery), per_second (deliveries), p50_us, p99_us.
//
// With BENCH_TLS_CA=FILE in the environment, rex and nats connect with TLS,
// verifying the server against that CA (rexd --tls-cert, nats-server --tls).
#include <mosquitto.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/rex_client.h"
#include "notify/notify_requests.h"
#include "rex/body.h"

namespace {

using namespace ardus;
using Clock = std::chrono::steady_clock;
constexpr std::size_t kPayload = 128;

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// What every subscriber records.
struct Sink {
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::int64_t> last_ns{0};
  std::mutex mu;
  std::vector<std::vector<double>> samples;  // per subscriber, microseconds

  void Record(int sub, const void* payload, std::size_t size) {
    if (size < 8) return;
    std::int64_t sent;
    std::memcpy(&sent, payload, 8);
    std::int64_t now = NowNs();
    samples[sub].push_back((now - sent) / 1000.0);
    delivered.fetch_add(1, std::memory_order_relaxed);
    last_ns.store(now, std::memory_order_relaxed);
  }
};

// BENCH_TLS_CA, or "" for plaintext.
std::string TlsCaFile() {
  const char* ca = std::getenv("BENCH_TLS_CA");
  return ca ? ca : "";
}

std::unique_ptr<rex::Client> RexConnect(const std::string& addr) {
  rex::ConnectOptions options;
  if (std::string file = TlsCaFile(); !file.empty()) {
    std::ifstream in(file);
    std::ostringstream pem;
    pem << in.rdbuf();
    options.tls = tls::ClientConfig{};
    options.tls->ca_pem = pem.str();
  }
  auto c = rex::Client::Connect(addr, 5000, "notify_bench", options);
  if (!c.ok()) {
    std::fprintf(stderr, "notify_bench: %s\n", c.status().message().c_str());
    std::exit(3);
  }
  return std::move(c).value();
}

std::string Payload() {
  std::string p(kPayload, 'x');
  std::int64_t now = NowNs();
  std::memcpy(p.data(), &now, 8);
  return p;
}

// Paces the publisher: waits until message i is due at `rate` per second.
// It spins on the clock without calling sched_yield: a yielding spinner
// enters the kernel millions of times a second and its tail latency then
// measures the scheduler; sleeping instead adds the VM's wake-up latency
// (both tried, both worse for every system).
void Pace(std::int64_t start_ns, std::uint64_t i, double rate) {
  if (rate <= 0) return;
  std::int64_t due = start_ns + static_cast<std::int64_t>(i * 1e9 / rate);
  while (NowNs() < due) {
  }
}

// ---------------------------------------------------------------- rex

void RexSubscriber(const std::string& addr, int index, Sink& sink, std::atomic<int>& ready,
                   std::atomic<bool>& stop) {
  auto c = RexConnect(addr);
  notify::SubscribeRequest request;
  request.channel = "bench";
  request.credit = 20000;
  request.max_queue = 100000;
  rex::BodyWriter w;
  notify::Encode(w, request);
  auto r = c->Call(static_cast<std::uint16_t>(notify::Method::kSubscribe), w.bytes());
  auto body = rex::BodyReader::Parse(r.value().value());
  std::uint64_t sub = notify::DecodeSubscribed(body.value()).value().subscription;
  ready++;
  std::uint64_t since_credit = 0;
  msgpack::zone zone;
  while (!stop) {
    auto f = c->Receive(100);
    if (!f.ok()) continue;
    if (f.value().kind != rex::Kind::kPush ||
        f.value().method != static_cast<std::uint16_t>(notify::Method::kEvent)) {
      continue;
    }
    zone.clear();  // one zone for all events: no allocation per message
    std::size_t offset = 0;
    // Strings and the body referenced in the frame, not copied into the zone:
    // notify::DecodeEvent would allocate per event, which NATS and mosquitto
    // clients do not, so this reads the event map's "body" in place.
    auto reference = [](msgpack::type::object_type, std::size_t, void*) { return true; };
    msgpack::object o = msgpack::unpack(zone, reinterpret_cast<const char*>(f.value().body.data()),
                                        f.value().body.size(), offset, reference);
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
      const auto& kv = o.via.map.ptr[i];
      if (kv.key.via.str.size == 4 && std::memcmp(kv.key.via.str.ptr, "body", 4) == 0) {
        sink.Record(index, kv.val.via.bin.ptr, kv.val.via.bin.size);
      }
    }
    if (++since_credit == 10000) {
      since_credit = 0;
      rex::BodyWriter credit;
      notify::Encode(credit, notify::CreditRequest{sub, 10000});
      (void)c->Send(static_cast<std::uint16_t>(notify::Method::kCredit), credit.bytes());
    }
  }
}

// Unpaced, events go 64 to a publish_batch request with 32 requests in
// flight, as NATS and mosquitto clients also buffer writes; paced, each event
// is its own publish request.
void RexPublish(const std::string& addr, const std::string& channel, std::uint64_t n, double rate) {
  auto c = RexConnect(addr);
  const std::uint64_t batch = rate > 0 ? 1 : 64, window = rate > 0 ? 64 : 32;
  std::uint64_t sent = 0, requests = 0, replies = 0;
  std::int64_t start = NowNs();
  while (sent < n || replies < requests) {
    while (sent < n && requests - replies < window) {
      std::uint64_t k = std::min(batch, n - sent);
      notify::PublishBatchRequest request{channel, std::vector<notify::PublishedEvent>(k)};
      for (std::uint64_t i = 0; i < k; ++i) {
        Pace(start, sent + i, rate);
        notify::Event& e = *request.events[i].event;
        e.domain = "bench";
        e.type = "tick";
        e.name = "e";
        e.body = Payload();
      }
      rex::BodyWriter w;
      notify::Encode(w, request);
      (void)c->Send(static_cast<std::uint16_t>(notify::Method::kPublishBatch), w.bytes());
      sent += k;
      ++requests;
    }
    auto f = c->Receive(5000);
    if (!f.ok() || f.value().kind != rex::Kind::kReply) {
      std::fprintf(stderr, "notify_bench: a publish failed\n");
      std::exit(1);
    }
    ++replies;
  }
}

// Durable publishing: a persistent channel, no subscribers; every batch is
// acknowledged only after rexd committed it.
int DurablePublish(const std::string& addr, std::uint64_t n) {
  auto c = RexConnect(addr);
  notify::CreateChannelRequest request{"durable", true, 100'000'000};
  rex::BodyWriter w;
  notify::Encode(w, request);
  (void)c->Call(static_cast<std::uint16_t>(notify::Method::kCreateChannel), w.bytes());
  std::int64_t start = NowNs();
  RexPublish(addr, "durable", n, 0);
  double seconds = (NowNs() - start) / 1e9;
  std::printf(
      "{\"system\": \"rex-durable\", \"subs\": 0, \"published\": %llu, "
      "\"seconds\": %.3f, \"per_second\": %.0f}\n",
      static_cast<unsigned long long>(n), seconds, n / seconds);
  return 0;
}

// ---------------------------------------------------------------- NATS

// JetStream's nearest equivalent of rexd-durable: a file-backed stream,
// asynchronous publishes with 2,048 awaiting their acknowledgement (rexd's
// 32 batches of 64). nats-server acknowledges after its write to the file,
// not after an fsync; rexd acknowledges after SQLite's fsync'd commit.
std::atomic<std::uint64_t> js_failures{0};

void OnJsError(jsCtx*, jsPubAckErr*, void*) { js_failures++; }

// A NATS connection, with TLS when BENCH_TLS_CA is set. send_asap: each
// publish is written at once (paced runs) instead of by the flusher.
natsStatus NatsConnect(natsConnection** nc, const std::string& url, bool send_asap) {
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetSendAsap(opts, send_asap);
  if (std::string ca = TlsCaFile(); !ca.empty()) {
    natsOptions_SetSecure(opts, true);
    natsOptions_LoadCATrustedCertificates(opts, ca.c_str());
  }
  natsStatus s = natsConnection_Connect(nc, opts);
  natsOptions_Destroy(opts);
  return s;
}

int JetStreamPublish(const std::string& url, std::uint64_t n) {
  natsConnection* nc = nullptr;
  if (NatsConnect(&nc, url, false) != NATS_OK) {
    std::fprintf(stderr, "notify_bench: cannot connect to %s\n", url.c_str());
    return 3;
  }
  jsOptions opts;
  jsOptions_Init(&opts);
  opts.PublishAsync.MaxPending = 2048;
  opts.PublishAsync.ErrHandler = OnJsError;
  jsCtx* js = nullptr;
  natsConnection_JetStream(&js, nc, &opts);
  js_DeleteStream(js, "BENCH", nullptr, nullptr);  // a fresh stream every round
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subjects[] = {"durable"};
  cfg.Name = "BENCH";
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  jsStreamInfo* info = nullptr;
  if (js_AddStream(&info, js, &cfg, nullptr, nullptr) != NATS_OK) {
    std::fprintf(stderr, "notify_bench: cannot create a JetStream stream (is -js on?)\n");
    return 3;
  }
  jsStreamInfo_Destroy(info);
  std::int64_t start = NowNs();
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string p = Payload();
    js_PublishAsync(js, "durable", p.data(), static_cast<int>(p.size()), nullptr);
  }
  jsPubOptions wait;
  jsPubOptions_Init(&wait);
  wait.MaxWait = 120000;
  natsStatus done = js_PublishAsyncComplete(js, &wait);
  double seconds = (NowNs() - start) / 1e9;
  js_DeleteStream(js, "BENCH", nullptr, nullptr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  if (done != NATS_OK || js_failures) {
    std::fprintf(stderr, "notify_bench: %llu JetStream publishes failed\n",
                 static_cast<unsigned long long>(js_failures.load()));
    return 1;
  }
  std::printf(
      "{\"system\": \"nats-jetstream\", \"subs\": 0, \"published\": %llu, "
      "\"seconds\": %.3f, \"per_second\": %.0f}\n",
      static_cast<unsigned long long>(n), seconds, n / seconds);
  return 0;
}

struct NatsCtx {
  Sink* sink;
  int index;
};

void OnNats(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* ctx = static_cast<NatsCtx*>(closure);
  ctx->sink->Record(ctx->index, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
}

// ---------------------------------------------------------------- mosquitto

struct MqttCtx {
  Sink* sink;
  int index;
  std::atomic<int>* ready;
};

void OnMqtt(mosquitto*, void* obj, const mosquitto_message* m) {
  auto* ctx = static_cast<MqttCtx*>(obj);
  ctx->sink->Record(ctx->index, m->payload, static_cast<std::size_t>(m->payloadlen));
}
void OnMqttSubscribed(mosquitto*, void* obj, int, int, const int*) {
  (*static_cast<MqttCtx*>(obj)->ready)++;
}

std::pair<std::string, int> HostPort(const std::string& addr) {
  auto colon = addr.rfind(':');
  return {addr.substr(0, colon), std::stoi(addr.substr(colon + 1))};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: notify_bench rex|nats|mosquitto ADDR SUBSCRIBERS MESSAGES RATE\n");
    return 2;
  }
  std::string system = argv[1], addr = argv[2];
  int subs = std::stoi(argv[3]);
  std::uint64_t n = std::stoull(argv[4]);
  double rate = std::stod(argv[5]);
  if (system == "rex-durable") return DurablePublish(addr, n);
  if (system == "nats-jetstream") return JetStreamPublish("nats://" + addr, n);
  Sink sink;
  sink.samples.resize(subs);
  for (auto& s : sink.samples) s.reserve(n);
  std::atomic<int> ready{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::vector<NatsCtx> nats_ctx(subs);
  std::vector<MqttCtx> mqtt_ctx(subs);
  std::vector<natsConnection*> nats_conns;
  std::vector<mosquitto*> mqtt_clients;
  std::function<void()> publish;
  const std::string url = "nats://" + addr;

  if (system == "rex") {
    for (int i = 0; i < subs; ++i) {
      threads.emplace_back(RexSubscriber, addr, i, std::ref(sink), std::ref(ready), std::ref(stop));
    }
    publish = [&] { RexPublish(addr, "bench", n, rate); };
  } else if (system == "nats") {
    for (int i = 0; i < subs; ++i) {
      natsConnection* nc = nullptr;
      natsSubscription* sub = nullptr;
      nats_ctx[i] = {&sink, i};
      if (NatsConnect(&nc, url, false) != NATS_OK ||
          natsConnection_Subscribe(&sub, nc, "bench", OnNats, &nats_ctx[i]) != NATS_OK) {
        std::fprintf(stderr, "notify_bench: cannot subscribe on %s\n", url.c_str());
        return 3;
      }
      natsConnection_Flush(nc);
      nats_conns.push_back(nc);
      ready++;
    }
    publish = [&] {
      // Paced runs measure latency: send each message at once instead of
      // letting the client's flusher batch them (its default, best for throughput).
      natsConnection* nc = nullptr;
      if (NatsConnect(&nc, url, rate > 0) != NATS_OK) {
        std::fprintf(stderr, "notify_bench: cannot connect to %s\n", url.c_str());
        std::exit(3);
      }
      std::int64_t start = NowNs();
      for (std::uint64_t i = 0; i < n; ++i) {
        Pace(start, i, rate);
        std::string p = Payload();
        natsConnection_Publish(nc, "bench", p.data(), static_cast<int>(p.size()));
      }
      natsConnection_Flush(nc);
      natsConnection_Destroy(nc);
    };
  } else if (system == "mosquitto") {
    mosquitto_lib_init();
    auto [host, port] = HostPort(addr);
    for (int i = 0; i < subs; ++i) {
      mqtt_ctx[i] = {&sink, i, &ready};
      mosquitto* m = mosquitto_new(nullptr, true, &mqtt_ctx[i]);
      mosquitto_message_callback_set(m, OnMqtt);
      mosquitto_subscribe_callback_set(m, OnMqttSubscribed);
      if (mosquitto_connect(m, host.c_str(), port, 60) != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "notify_bench: cannot connect to mosquitto at %s\n", addr.c_str());
        return 3;
      }
      mosquitto_subscribe(m, nullptr, "bench", 0);
      mosquitto_loop_start(m);
      mqtt_clients.push_back(m);
    }
    publish = [&, host = host, port = port] {
      mosquitto* m = mosquitto_new(nullptr, true, nullptr);
      mosquitto_connect(m, host.c_str(), port, 60);
      mosquitto_loop_start(m);
      std::int64_t start = NowNs();
      for (std::uint64_t i = 0; i < n; ++i) {
        Pace(start, i, rate);
        std::string p = Payload();
        while (mosquitto_publish(m, nullptr, "bench", static_cast<int>(p.size()), p.data(), 0,
                                 false) == MOSQ_ERR_NOMEM) {
          std::this_thread::yield();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      mosquitto_disconnect(m);
      mosquitto_loop_stop(m, false);
      mosquitto_destroy(m);
    };
  } else {
    std::fprintf(stderr, "notify_bench: unknown system %s\n", system.c_str());
    return 2;
  }

  while (ready < subs) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::int64_t start = NowNs();
  publish();
  // Wait for every delivery, or until nothing arrives for 2 s (drops).
  std::uint64_t want = n * static_cast<std::uint64_t>(subs);
  std::uint64_t seen = 0;
  auto idle_since = Clock::now();
  while (sink.delivered < want && Clock::now() - idle_since < std::chrono::seconds(2)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (sink.delivered != seen) {
      seen = sink.delivered;
      idle_since = Clock::now();
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  for (auto* nc : nats_conns) natsConnection_Destroy(nc);
  for (auto* m : mqtt_clients) {
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
  }
  std::vector<double> all;
  for (auto& s : sink.samples) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, std::size_t(p * all.size()))];
  };
  double seconds = (sink.last_ns.load() - start) / 1e9;
  std::printf(
      "{\"system\": \"%s\", \"subs\": %d, \"published\": %llu, \"delivered\": %llu, "
      "\"seconds\": %.3f, \"per_second\": %.0f, \"p50_us\": %.1f, \"p99_us\": %.1f}\n",
      system.c_str(), subs, static_cast<unsigned long long>(n),
      static_cast<unsigned long long>(sink.delivered.load()), seconds,
      seconds > 0 ? sink.delivered.load() / seconds : 0.0, pct(0.5), pct(0.99));
  return 0;
}
