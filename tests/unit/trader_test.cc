// The Trader engine: types, offers, leases, queries, indexes, watches.
#include "trader/trader.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <random>

#include "support/naive_tcl.h"
#include "tcl/checker.h"
#include "tcl/parser.h"

namespace ardus::trader {
namespace {

using namespace ardus::tcl;  // the values offers hold

using rex::Code;

ServiceType Type(std::string name, std::vector<std::string> supers,
                 std::vector<PropertyDef> props) {
  return ServiceType{std::move(name), std::move(supers), std::move(props)};
}
PropertyDef Prop(std::string name, BaseType b, bool mandatory = false, bool readonly = false,
                 bool seq = false) {
  return PropertyDef{std::move(name), {b, seq}, mandatory, readonly};
}

class TraderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(t.AddType(Type("device", {}, {Prop("name", BaseType::kString)})).ok());
    ASSERT_TRUE(
        t.AddType(Type("printer", {"device"},
                       {Prop("ppm", BaseType::kInt, true), Prop("location", BaseType::kString),
                        Prop("colour", BaseType::kBool),
                        Prop("serial", BaseType::kString, false, true)}))
            .ok());
    t.TakeMutations();
  }
  OfferId Export(Properties p, std::string type = "printer", std::uint32_t lease = 0) {
    auto id = t.Export(now, std::move(type), std::move(p), lease);
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? id.value() : 0;
  }
  std::vector<OfferId> Ids(const std::string& type, const std::string& constraint,
                           const std::string& pref = "", Policies pol = {}) {
    auto page = t.Query(now, 1, {type, constraint, pref, pol, 1000});
    EXPECT_TRUE(page.ok()) << page.error().message;
    std::vector<OfferId> out;
    if (page.ok()) {
      for (const auto& o : page.value().offers) out.push_back(o.id);
    }
    return out;
  }

  Trader t{42};
  std::int64_t now = 1'000'000;
};

TEST_F(TraderTest, TypesInheritAndGuardRemoval) {
  auto props = t.TypeProperties("printer");
  ASSERT_TRUE(props.ok());
  EXPECT_EQ(props.value().size(), 5u);  // name inherited
  EXPECT_EQ(t.AddType(Type("printer", {}, {})).error().code, Code::kDuplicateType);
  EXPECT_EQ(t.AddType(Type("x", {"nope"}, {})).error().code, Code::kUnknownType);
  EXPECT_EQ(t.AddType(Type("x", {"printer"}, {Prop("ppm", BaseType::kString)})).error().code,
            Code::kInvalidType);
  EXPECT_EQ(t.AddType(Type("x", {"printer"}, {Prop("ppm", BaseType::kInt, false)})).error().code,
            Code::kInvalidType);  // mandatory cannot become optional
  EXPECT_EQ(t.RemoveType("device").error().code, Code::kTypeInUse);  // printer derives from it
  OfferId id = Export({{"ppm", std::int64_t{5}}});
  EXPECT_EQ(t.RemoveType("printer").error().code, Code::kTypeInUse);
  ASSERT_TRUE(t.Withdraw(id).ok());
  EXPECT_TRUE(t.RemoveType("printer").ok());
  EXPECT_TRUE(t.RemoveType("device").ok());
}

TEST_F(TraderTest, ExportChecksValuesAgainstTheType) {
  EXPECT_EQ(t.Export(now, "nope", {}, 0).error().code, Code::kUnknownType);
  EXPECT_EQ(t.Export(now, "printer", {}, 0).error().code, Code::kMissingProperty);
  EXPECT_EQ(t.Export(now, "printer", {{"ppm", std::string("x")}}, 0).error().code,
            Code::kPropertyTypeMismatch);
  EXPECT_EQ(t.Export(now, "printer", {{"ppm", std::int64_t{1}}, {"typo", true}}, 0).error().code,
            Code::kUnknownProperty);
  EXPECT_TRUE(t.TakeMutations().empty());  // refused requests change nothing
  OfferId id = Export({{"ppm", std::int64_t{1}}});
  auto m = t.TakeMutations();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind, Mutation::kPutOffer);
  EXPECT_EQ(m[0].offer.id, id);
}

TEST_F(TraderTest, ModifyRespectsReadonlyAndMandatory) {
  OfferId id = Export({{"ppm", std::int64_t{1}}, {"serial", std::string("A1")}});
  EXPECT_EQ(t.Modify(id, {{"serial", std::string("B")}}, {}).error().code, Code::kReadonlyProperty);
  EXPECT_EQ(t.Modify(id, {}, {"ppm"}).error().code, Code::kMissingProperty);
  ASSERT_TRUE(t.Modify(id, {{"ppm", std::int64_t{9}}}, {}).ok());
  EXPECT_EQ(std::get<std::int64_t>(t.Describe(id).value().props.at("ppm")), 9);
  EXPECT_EQ(t.Modify(999, {}, {}).error().code, Code::kUnknownOffer);
}

TEST_F(TraderTest, QueriesCoverSubtypesAndOrderByPreference) {
  OfferId d = Export({{"name", std::string("d")}}, "device");
  OfferId a = Export({{"ppm", std::int64_t{30}}, {"location", std::string("Cambridge Lab")}});
  OfferId b = Export({{"ppm", std::int64_t{10}}, {"location", std::string("Oxford")}});
  OfferId c = Export({{"ppm", std::int64_t{45}}, {"colour", true}});
  EXPECT_EQ(Ids("device", ""), (std::vector<OfferId>{d, a, b, c}));
  Policies exact;
  exact.exact_type_match = true;
  EXPECT_EQ(Ids("device", "", "", exact), (std::vector<OfferId>{d}));
  EXPECT_EQ(Ids("printer", "ppm > 20 and 'Cambridge' ~ location"), (std::vector<OfferId>{a}));
  EXPECT_EQ(Ids("printer", "", "max ppm"), (std::vector<OfferId>{c, a, b}));
  EXPECT_EQ(Ids("printer", "", "min ppm"), (std::vector<OfferId>{b, a, c}));
  EXPECT_EQ(Ids("printer", "", "with colour == TRUE"), (std::vector<OfferId>{c, a, b}));
  // Offers whose preference is undefined (no location) go last.
  EXPECT_EQ(Ids("printer", "", "with 'Oxford' ~ location"), (std::vector<OfferId>{b, a, c}));
  auto shuffled = Ids("printer", "", "random");
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, (std::vector<OfferId>{a, b, c}));
  EXPECT_EQ(t.Query(now, 1, {"printer", "ppm >", "", {}, 10}).error().code,
            Code::kIllegalConstraint);
  EXPECT_EQ(t.Query(now, 1, {"printer", "", "max location", {}, 10}).error().code,
            Code::kIllegalPreference);
}

TEST_F(TraderTest, CardsLimitAndPagesContinue) {
  for (int i = 0; i < 25; ++i) Export({{"ppm", std::int64_t{i}}});
  Policies p;
  p.match_card = 10;
  auto page = t.Query(now, 7, {"printer", "", "", p, 4});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page.value().offers.size(), 4u);
  EXPECT_EQ(page.value().remaining, 6u);
  EXPECT_EQ(page.value().limited_by, std::vector<std::string>{"match_card"});
  std::uint64_t it = page.value().iterator;
  EXPECT_EQ(t.NextPage(now, 8, it, 100).error().code, Code::kUnknownIterator);  // other owner
  auto rest = t.NextPage(now, 7, it, 100);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest.value().offers.size(), 6u);
  EXPECT_EQ(rest.value().iterator, 0u);
  EXPECT_EQ(t.NextPage(now, 7, it, 1).error().code, Code::kUnknownIterator);  // exhausted
  p = {};
  p.search_card = 5;
  p.return_card = 3;
  page = t.Query(now, 7, {"printer", "", "", p, 100});
  EXPECT_EQ(page.value().offers.size(), 3u);
  EXPECT_EQ(page.value().limited_by, (std::vector<std::string>{"search_card", "return_card"}));
}

TEST_F(TraderTest, LeasesExpireUnlessRenewed) {
  OfferId leased = Export({{"ppm", std::int64_t{1}}}, "printer", 10);
  OfferId kept = Export({{"ppm", std::int64_t{2}}}, "printer", 10);
  Export({{"ppm", std::int64_t{3}}});
  EXPECT_EQ(t.NextDeadline(), now + 10'000);
  now += 6'000;
  ASSERT_TRUE(t.Renew(now, kept).ok());
  t.TakeMutations();
  now += 4'000;
  t.Tick(now);
  EXPECT_EQ(t.Describe(leased).error().code, Code::kUnknownOffer);
  EXPECT_TRUE(t.Describe(kept).ok());
  auto m = t.TakeMutations();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].kind, Mutation::kDeleteOffer);
  EXPECT_EQ(m[0].id, leased);
  now += 6'000;
  t.Tick(now);
  EXPECT_EQ(t.OfferCount(), 1u);
}

TEST_F(TraderTest, RestoreGivesLeasesAFreshTermAndNeverReusesIds) {
  Trader fresh(1);
  ASSERT_TRUE(fresh.RestoreType(Type("device", {}, {Prop("name", BaseType::kString)})).ok());
  Offer o{7, "device", {}, 30, 5};  // a deadline long past
  ASSERT_TRUE(fresh.RestoreOffer(now, o).ok());
  fresh.RestoreNextOfferId(12);
  fresh.Tick(now + 29'000);
  EXPECT_TRUE(fresh.Describe(7).ok());
  EXPECT_EQ(fresh.Export(now, "device", {}, 0).value(), 12u);
}

TEST_F(TraderTest, WatchesSeeEnterUpdateLeaveAndExpiry) {
  OfferId a = Export({{"ppm", std::int64_t{30}}});
  auto w = t.Watch(5, "device", "exist name");
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w.value().matching.empty());
  auto printers = t.Watch(5, "printer", "ppm > 20");
  ASSERT_TRUE(printers.ok());
  ASSERT_EQ(printers.value().matching.size(), 1u);
  t.TakeWatchEvents();
  OfferId b = Export({{"ppm", std::int64_t{25}}, {"name", std::string("b")}}, "printer", 5);
  ASSERT_TRUE(t.Modify(a, {{"ppm", std::int64_t{31}}}, {}).ok());
  ASSERT_TRUE(t.Modify(a, {{"ppm", std::int64_t{3}}}, {}).ok());
  now += 5'000;
  t.Tick(now);
  auto events = t.TakeWatchEvents();
  std::vector<std::string> seen;
  for (const auto& e : events) {
    seen.push_back(fmt::format("{}:{}:{}:{}", e.watch == w.value().watch ? "names" : "printers",
                               int(e.kind), e.offer.id, e.reason));
  }
  auto k = [](WatchEvent::Kind kind) { return std::to_string(int(kind)); };
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "names:" + k(WatchEvent::kEnter) + ":" + std::to_string(b) + ":",
                      "printers:" + k(WatchEvent::kEnter) + ":" + std::to_string(b) + ":",
                      "printers:" + k(WatchEvent::kUpdate) + ":" + std::to_string(a) + ":",
                      "printers:" + k(WatchEvent::kLeave) + ":" + std::to_string(a) + ":modified",
                      "names:" + k(WatchEvent::kLeave) + ":" + std::to_string(b) + ":expired",
                      "printers:" + k(WatchEvent::kLeave) + ":" + std::to_string(b) + ":expired",
                  }));
  t.DropOwner(5);
  Export({{"ppm", std::int64_t{99}}});
  EXPECT_TRUE(t.TakeWatchEvents().empty());
}

// The index may only narrow the candidates, never change the answer: compare
// every query against the naive evaluator applied to every offer.
// Offers of about 1 MB: 16 string properties of 60,000 bytes.
class BigOffers : public TraderTest {
 protected:
  void SetUp() override {
    TraderTest::SetUp();
    std::vector<PropertyDef> props = {Prop("n", BaseType::kInt)};
    for (int i = 0; i < 16; ++i) props.push_back(Prop(fmt::format("p{}", i), BaseType::kString));
    ASSERT_TRUE(t.AddType(Type("big", {}, props)).ok());
    for (std::int64_t n = 0; n < 20; ++n) {
      Properties p = {{"n", n}};
      for (int i = 0; i < 16; ++i) p[fmt::format("p{}", i)] = std::string(60'000, 'v');
      Export(std::move(p), "big");
    }
  }
};

TEST_F(BigOffers, APageStopsAtItsByteBoundAndTheIteratorHasTheRest) {
  auto page = t.Query(now, 1, {"big", "", "", {}, 100});
  ASSERT_TRUE(page.ok());
  // 4 MiB of 960 KB offers: the page stops after the offer that passes it.
  EXPECT_EQ(page.value().offers.size(), 5u);
  EXPECT_EQ(page.value().remaining, 15u);
  ASSERT_NE(page.value().iterator, 0u);
  std::size_t seen = page.value().offers.size();
  std::uint64_t it = page.value().iterator;
  while (it != 0) {
    auto next = t.NextPage(now, 1, it, 100);
    ASSERT_TRUE(next.ok());
    EXPECT_LE(next.value().offers.size(), 5u);
    seen += next.value().offers.size();
    it = next.value().iterator;
  }
  EXPECT_EQ(seen, 20u);
}

TEST_F(BigOffers, AWatchWhoseInitialMatchesPassTheBoundIsRefused) {
  auto all = t.Watch(1, "big", "");
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error().code, Code::kLimitExceeded);
  auto few = t.Watch(1, "big", "n < 3");
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(few.value().matching.size(), 3u);
}

TEST_F(TraderTest, WorkCountsTheEvaluationStepsOfQueriesAndWatchChecks) {
  for (std::int64_t i = 0; i < 100; ++i) Export({{"ppm", i}});
  std::uint64_t before = t.work();
  // 11 instructions per offer: 5 per comparison and the `and`'s jump.
  Ids("printer", "ppm + 1 > 0 and ppm + 2 > 0");
  EXPECT_EQ(t.work() - before, 100u * 11);
  ASSERT_TRUE(t.Watch(1, "printer", "ppm > 1000").ok());
  before = t.work();
  Export({{"ppm", std::int64_t{5}}});  // the export pays for checking the watch
  EXPECT_EQ(t.work() - before, 3u);
}

TEST(TraderIndex, IndexedQueriesMatchAFullNaiveScan) {
  const std::uint64_t seed = 20261122;
  std::mt19937_64 rng(seed);
  Trader t(seed);
  ASSERT_TRUE(t.AddType(Type("svc", {},
                             {Prop("n", BaseType::kInt), Prop("x", BaseType::kFloat),
                              Prop("zone", BaseType::kString)}))
                  .ok());
  const std::vector<std::string> zones = {"a", "b", "c", "d", "eu-1", "eu-2"};
  std::map<OfferId, Properties> all;
  for (int i = 0; i < 5000; ++i) {
    Properties p;
    if (rng() % 10) p["n"] = std::int64_t(rng() % 1000);
    if (rng() % 10) p["x"] = double(rng() % 400) / 4;
    if (rng() % 10) p["zone"] = zones[rng() % zones.size()];
    auto id = t.Export(0, "svc", p, 0);
    ASSERT_TRUE(id.ok());
    all[id.value()] = p;
  }
  const std::vector<std::string> queries = {"n == 17",
                                            "n < 5 and zone == 'b'",
                                            "zone == 'eu-1' and x >= 99.5",
                                            "500 < n and n <= 510",
                                            "x > 20.25 and x < 20.75",
                                            "zone >= 'eu' and n > 990",
                                            "n == 17 or n == 18",
                                            "n / 2 == 8 and n > 15",
                                            "zone == 'nope'",
                                            "n > 10.5 and n < 12"};
  for (const auto& q : queries) {
    auto page = t.Query(0, 1, {"svc", q, "", {}, 100000});
    ASSERT_TRUE(page.ok()) << q << ": " << page.error().message;
    std::vector<OfferId> got;
    for (const auto& o : page.value().offers) got.push_back(o.id);
    auto ast = tcl::ParseConstraint(q);
    std::vector<OfferId> want;
    for (const auto& [id, p] : all) {
      if (testing::NaiveMatches(*ast.value(), p)) want.push_back(id);
    }
    EXPECT_EQ(got, want) << "seed " << seed << ": " << q;
    // Every query but these two has a narrow indexable range.
    bool selective = q.find(" or ") == std::string::npos && q.find("n / 2") == std::string::npos;
    if (selective) {
      EXPECT_LT(page.value().considered, 600u) << q;  // not a full scan
    }
  }
  // Withdrawals and modifications keep the index exact.
  for (OfferId id = 1; id <= 5000; id += 3) {
    ASSERT_TRUE(t.Withdraw(id).ok());
    all.erase(id);
  }
  for (OfferId id = 2; id <= 5000; id += 3) {
    ASSERT_TRUE(t.Modify(id, {{"n", std::int64_t{17}}}, {}).ok());
    all[id]["n"] = std::int64_t{17};
  }
  auto page = t.Query(0, 1, {"svc", "n == 17", "", {}, 100000});
  std::size_t want = 0;
  for (const auto& [id, p] : all) want += p.count("n") && std::get<std::int64_t>(p.at("n")) == 17;
  EXPECT_EQ(page.value().offers.size(), want);
}

}  // namespace
}  // namespace ardus::trader
