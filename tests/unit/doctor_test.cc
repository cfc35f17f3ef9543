// ardus doctor's pure parsers and probe codec, fed texts captured from
// /proc, nft and ethtool on a Debian 12 host (kernel 6.1, nftables 1.0.6).
#include <gtest/gtest.h>

#include "programs/ardus/doctor_parse.h"
#include "programs/ardus/doctor_probe.h"

namespace ardus::doctor {
namespace {

constexpr const char* kProcUdp =
    "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode ref pointer drops            \n"
    " 4348: 1100FFEF:A809 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "
    "858301 2 00000000e7e7fa2d 0        \n"
    " 4365: 00000000:A81A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 "
    "856638 2 0000000009789327 0        \n"
    "garbage line\n";

TEST(DoctorParse, ProcNetUdp) {
  auto s = ParseProcNetSockets(kProcUdp);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].local_address, 0xEFFF0011u);  // 239.255.0.17
  EXPECT_EQ(s[0].local_port, 0xA809);
  EXPECT_EQ(s[0].state, 7);
  EXPECT_EQ(s[0].inode, 858301u);
  EXPECT_EQ(s[1].local_address, 0u);
  EXPECT_EQ(s[1].inode, 856638u);
}

TEST(DoctorParse, ProcNetTcpListen) {
  auto s = ParseProcNetSockets(
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
      "inode\n"
      "   0: 0100007F:8B6F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
      "859036 1 00000000d82d2958 100 0 0 10 0\n");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].local_address, 0x7F000001u);
  EXPECT_EQ(s[0].local_port, 0x8B6F);
  EXPECT_EQ(s[0].state, 0x0A);
}

TEST(DoctorParse, ProcNetIgmp) {
  auto i = ParseProcNetIgmp(
      "Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"
      "1\tlo        :     3      V3\n"
      "\t\t\t\t1100FFEF     1 0:00000000\t\t0\n"
      "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
      "4\teth0      :     1      V2\n"
      "\t\t\t\t010000E0     1 0:00000000\t\t0\n");
  ASSERT_EQ(i.size(), 2u);
  EXPECT_EQ(i[0].device, "lo");
  EXPECT_EQ(i[0].version, 3);
  ASSERT_EQ(i[0].groups.size(), 2u);
  EXPECT_EQ(i[0].groups[0], 0xEFFF0011u);
  EXPECT_EQ(i[1].device, "eth0");
  EXPECT_EQ(i[1].version, 2);
}

constexpr const char* kRouteHeader =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

TEST(DoctorParse, MulticastRouteFallsBackToDefault) {
  const std::string text = std::string(kRouteHeader) +
                           "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
                           "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
  auto routes = ParseProcNetRoute(text);
  ASSERT_EQ(routes.size(), 2u);
  auto r = RouteFor(routes, 0xEFFF1223u);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->mask, 0u);  // only the default route covers the group
  auto with =
      ParseProcNetRoute(text + "eth1\t000000E0\t00000000\t0001\t0\t0\t0\t000000F0\t0\t0\t0\n");
  r = RouteFor(with, 0xEFFF1223u);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->device, "eth1");
  EXPECT_EQ(r->destination, 0xE0000000u);
  EXPECT_EQ(r->mask, 0xF0000000u);
  // A route that is down (flags 0) does not count; no route at all: nullopt.
  EXPECT_FALSE(
      RouteFor(ParseProcNetRoute(std::string(kRouteHeader) +
                                 "eth1\t000000E0\t00000000\t0000\t0\t0\t0\t000000F0\t0\t0\t0\n"),
               0xEFFF1223u));
}

const Traffic kTraffic{{1117, 1834, 1835, 116, 124}, {0xEFFF1223u, 0xEFFF0B11u}};

// nft -j list ruleset after: udp dport 1835 drop; ip daddr 224.0.0.0/4
// counter reject; tcp dport { 116, 124 } drop; plus two rules that must
// not count.
constexpr const char* kNft =
    R"({"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, )"
    R"({"table": {"family": "inet", "name": "f", "handle": 1}}, )"
    R"({"chain": {"family": "inet", "table": "f", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}, )"
    R"({"rule": {"family": "inet", "table": "f", "chain": "input", "handle": 2, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 1835}}, {"drop": null}]}}, )"
    R"({"rule": {"family": "inet", "table": "f", "chain": "input", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "224.0.0.0", "len": 4}}}}, {"counter": {"packets": 0, "bytes": 0}}, {"reject": {"type": "icmp", "expr": "port-unreachable"}}]}}, )"
    R"({"rule": {"family": "inet", "table": "f", "chain": "input", "handle": 5, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [116, 124]}}}, {"drop": null}]}}, )"
    R"({"rule": {"family": "inet", "table": "f", "chain": "input", "handle": 6, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}}, {"drop": null}]}}, )"
    R"({"rule": {"family": "inet", "table": "f", "chain": "input", "handle": 7, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 1835}}, {"accept": null}]}}]})";

TEST(DoctorParse, NftFindsBlockingRules) {
  auto rules = ParseNftRuleset(kNft, kTraffic);
  ASSERT_TRUE(rules);
  ASSERT_EQ(rules->size(), 3u);
  EXPECT_EQ((*rules)[0].where, "inet f input handle 2");
  EXPECT_EQ((*rules)[0].hits, "udp dport 1835");
  EXPECT_EQ((*rules)[0].rule, "udp dport 1835 drop");
  EXPECT_EQ((*rules)[1].where, "inet f input handle 3");
  EXPECT_EQ((*rules)[1].hits, "daddr 224.0.0.0/4 (multicast)");
  EXPECT_EQ((*rules)[2].hits, "tcp dport 116,124");
}

TEST(DoctorParse, NftPolicyDropAndBadJson) {
  auto rules = ParseNftRuleset(
      R"({"nftables": [{"chain": {"family": "ip", "table": "t", "name": "in", "hook": "input", "policy": "drop"}}]})",
      kTraffic);
  ASSERT_TRUE(rules);
  ASSERT_EQ(rules->size(), 1u);
  EXPECT_EQ((*rules)[0].rule, "policy drop (hook input)");
  EXPECT_FALSE(ParseNftRuleset("Error: not json", kTraffic));
  // A unicast address or another group is not ardus's traffic.
  rules = ParseNftRuleset(
      R"({"nftables": [{"rule": {"family": "ip", "table": "t", "chain": "c", "handle": 9, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.0.0.1"}}, {"drop": null}]}}]})",
      kTraffic);
  ASSERT_TRUE(rules);
  EXPECT_TRUE(rules->empty());
}

TEST(DoctorParse, IptablesSave) {
  auto rules = ParseIptablesSave(
      "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n"
      "-A INPUT -p udp -m udp --dport 1117 -j DROP\n"
      "-A INPUT -p tcp -m multiport --dports 100:130 -j REJECT --reject-with "
      "icmp-port-unreachable\n"
      "-A INPUT -d 239.255.18.35/32 -j DROP\n"
      "-A INPUT -p udp -m udp --dport 53 -j DROP\n"
      "-A INPUT -p udp -m udp --dport 1835 -j ACCEPT\nCOMMIT\n",
      kTraffic);
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].rule, "policy DROP");
  EXPECT_EQ(rules[0].where, "filter OUTPUT");
  EXPECT_EQ(rules[1].hits, "udp dport 1117");
  EXPECT_EQ(rules[2].hits, "tcp dport 116,124");
  EXPECT_EQ(rules[3].hits, "daddr group 239.255.18.35");
}

TEST(DoctorParse, EthtoolGro) {
  EXPECT_EQ(ParseEthtoolGro("Features for lo:\nrx-checksumming: on [fixed]\n"
                            "generic-receive-offload: on\nlarge-receive-offload: off [fixed]\n"),
            std::optional<bool>(true));
  EXPECT_EQ(ParseEthtoolGro("generic-receive-offload: off\n"), std::optional<bool>(false));
  EXPECT_EQ(ParseEthtoolGro("no such device\n"), std::nullopt);
}

TEST(DoctorProbe, RoundTripAndRefusals) {
  Probe p{0x11223344, 7, {{0x55, {3, 1, 4}}}};
  auto bytes = EncodeProbe(p);
  // The worked example in docs/ardus-protocol.md, "Doctor probes".
  const std::vector<std::uint8_t> kExample = {0x41, 0x44, 0x50, 0x52, 0x01, 0x00, 0x00, 0x01,
                                              0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x07,
                                              0x00, 0x00, 0x00, 0x55, 0x00, 0x00, 0x00, 0x03,
                                              0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04};
  EXPECT_EQ(bytes, kExample);
  auto back = DecodeProbe(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sender, 0x11223344u);
  EXPECT_EQ(back->seq, 7u);
  EXPECT_EQ(back->heard.at(0x55).received, 3u);
  auto bad = bytes;
  bad[0] = 0xAD;  // an ARDUS magic is not a probe
  EXPECT_FALSE(DecodeProbe(bad));
  bad = bytes;
  bad.push_back(0);  // trailing byte
  EXPECT_FALSE(DecodeProbe(bad));
  bad = bytes;
  bad[7] = 2;  // claims 2 entries, carries 1
  EXPECT_FALSE(DecodeProbe(bad));
  bad = bytes;
  bad[6] = 0xFF;  // 65,281 entries claimed: refused before reading any
  bad[7] = 0x01;
  EXPECT_FALSE(DecodeProbe(bad));
  std::vector<std::uint8_t> many(16 + 16 * (kMaxProbePeers + 1), 0);
  std::copy(bytes.begin(), bytes.begin() + 16, many.begin());
  many[7] = std::uint8_t(kMaxProbePeers + 1);  // one entry beyond the bound, length matching
  EXPECT_FALSE(DecodeProbe(many));
  bad = bytes;
  bad[11] = bad[10] = bad[9] = bad[8] = 0;  // sender 0
  EXPECT_FALSE(DecodeProbe(bad));
  Probe lying{1, 1, {{2, {9, 1, 4}}}};  // 9 received of a 4-probe span
  EXPECT_FALSE(DecodeProbe(EncodeProbe(lying)));
}

TEST(DoctorProbe, BookTellsDirectionsApart) {
  constexpr std::uint32_t kMe = 1, kA = 2, kB = 3;
  ProbeBook book(kMe);
  for (std::uint32_t seq = 1; seq <= 10; ++seq) {
    // A hears all 10 of ours; B hears nobody; we drop A's odd probes.
    if (seq % 2 == 0) book.Add({kA, seq, {{kMe, {seq, 1, seq}}}});
    book.Add({kB, seq, {}});
    book.Add({kMe, seq, {}});  // our own, looped back: ignored
  }
  auto report = book.Report(10, {{kA, "10.0.0.2"}, {kB, "10.0.0.3"}});
  ASSERT_EQ(report.size(), 2u);
  EXPECT_EQ(report[0].status, Status::kWarn);
  EXPECT_NE(report[0].detail.find("10.0.0.2 -> me: 5/9"), std::string::npos) << report[0].detail;
  EXPECT_NE(report[0].detail.find("me -> 10.0.0.2: 10/10 (0% loss)"), std::string::npos);
  EXPECT_EQ(report[1].status, Status::kFail);
  EXPECT_NE(report[1].fix.find("receiver side at 10.0.0.3"), std::string::npos) << report[1].fix;
  // Our tallies go out in the next probe.
  Probe next = book.Next(11);
  EXPECT_EQ(next.heard.at(kA).received, 5u);
  EXPECT_EQ(next.heard.at(kB).received, 10u);
}

TEST(DoctorProbe, SenderSideAndBoundedPeers) {
  ProbeBook book(1);
  // Everyone hears someone, nobody lists us: our send side.
  book.Add({2, 1, {{3, {1, 1, 1}}}});
  auto report = book.Report(5, {});
  ASSERT_EQ(report.size(), 1u);
  EXPECT_NE(report[0].fix.find("sender side"), std::string::npos) << report[0].fix;
  for (std::uint32_t id = 10; id < 10 + 2 * kMaxProbePeers; ++id) book.Add({id, 1, {}});
  EXPECT_EQ(book.Next(2).heard.size(), kMaxProbePeers);
  EXPECT_EQ(book.ignored_peers(), kMaxProbePeers + 1);
  EXPECT_FALSE(ProbeBook(1).Report(3, {}).empty());  // nobody heard: a failure, said so
}

}  // namespace
}  // namespace ardus::doctor
