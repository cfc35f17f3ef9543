// The permission model and the auth file: every grant kind, patterns,
// anonymous, admin, parse errors with their line numbers, reloads, and the
// worked example of docs/rex-protocol.md ("Permissions"), read from the doc.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "auth/auth_file.h"
#include "auth/pattern.h"
#include "auth/permissions.h"

namespace ardus::auth {
namespace {

std::shared_ptr<const AuthPolicy> MustParse(std::string_view text) {
  auto parsed = ParseAuthFile(text);
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().ToStatus().ToString());
  return parsed.ok() ? parsed.value() : AuthPolicy::Open();
}

ParseError MustFail(std::string_view text) {
  auto parsed = ParseAuthFile(text);
  EXPECT_FALSE(parsed.ok());
  return parsed.ok() ? ParseError{} : parsed.error();
}

bool Allows(const Identity& identity, Permission permission, std::string_view object) {
  return identity.Check(permission, object).ok();
}

const std::string kKeyA(64, 'a');
const std::string kKeyB(64, 'b');

TEST(AuthPattern, GlobMatching) {
  auto p = [](std::string_view text) { return Pattern::Parse(text).value(); };
  EXPECT_TRUE(p("camera").Matches("camera"));
  EXPECT_FALSE(p("camera").Matches("cameras"));
  EXPECT_FALSE(p("camera").Matches("camer"));
  EXPECT_TRUE(p("camera*").Matches("camera"));
  EXPECT_TRUE(p("camera*").Matches("camera.front.left"));
  EXPECT_TRUE(p("sensors.*").Matches("sensors.temp"));
  EXPECT_FALSE(p("sensors.*").Matches("sensors"));
  EXPECT_FALSE(p("sensors.*").Matches("sensorsX"));
  EXPECT_TRUE(p("*").Matches("IDL:example/Camera:1.0"));
  EXPECT_TRUE(p("IDL:*/Camera:*").Matches("IDL:example/Camera:1.0"));
  EXPECT_FALSE(p("IDL:*/Camera:*").Matches("IDL:example/Cam:1.0"));
  EXPECT_TRUE(p("*.temp").Matches("a.b.temp"));
  EXPECT_FALSE(p("*.temp").Matches("a.b.temp2"));
  EXPECT_TRUE(p("a*b*c").Matches("aXbYbZc"));
  EXPECT_FALSE(p("a*b*c").Matches("aXbYbZ"));
  EXPECT_TRUE(p("**").Matches(""));
  // Worst case stays bounded: 63 stars against 128 bytes.
  std::string stars;
  for (int i = 0; i < 63; ++i) stars += "a*";
  EXPECT_FALSE(Pattern::Parse(stars + "b").value().Matches(std::string(128, 'a')));
}

TEST(AuthPattern, RefusesWhatNoNameHolds) {
  EXPECT_FALSE(Pattern::Parse("").ok());
  EXPECT_FALSE(Pattern::Parse("camera?").ok());
  EXPECT_FALSE(Pattern::Parse("a b").ok());
  EXPECT_FALSE(Pattern::Parse(std::string(129, 'a')).ok());
  EXPECT_TRUE(Pattern::Parse(std::string(128, 'a')).ok());
  EXPECT_NE(Pattern::Parse("cam>").error().message().find("'cam>'"), std::string::npos);
}

TEST(AuthPermissions, NamesRoundTrip) {
  ASSERT_EQ(AllPermissions().size(), kPermissionCount);
  for (Permission p : AllPermissions()) {
    EXPECT_EQ(PermissionFromName(PermissionName(p)), p) << PermissionName(p);
  }
  EXPECT_FALSE(PermissionFromName("trader.everything").has_value());
}

// Each grant kind allows its own permission on matching names, and nothing else.
TEST(AuthPermissions, EveryGrantKindIsItsOwn) {
  for (Permission granted : AllPermissions()) {
    if (granted == Permission::kAdmin) continue;
    const std::string text = std::string("identity u\n key ") + kKeyA + "\n allow " +
                             PermissionName(granted) + " lab.*\n";
    auto policy = MustParse(text);
    const Identity* u = policy->Find(CredentialKind::kKey, kKeyA);
    ASSERT_NE(u, nullptr);
    for (Permission asked : AllPermissions()) {
      const bool expect = asked == granted;
      EXPECT_EQ(Allows(*u, asked, "lab.one"), expect)
          << PermissionName(granted) << " vs " << PermissionName(asked);
      EXPECT_FALSE(Allows(*u, asked, "prod.one")) << PermissionName(asked);
    }
  }
}

TEST(AuthPermissions, RefusalNamesTheMissingPermission) {
  auto policy = MustParse("identity bob\n key " + kKeyB + "\n allow trader.query *\n");
  const Identity* bob = policy->FindByName("bob");
  ASSERT_NE(bob, nullptr);
  auto refused = bob->Check(Permission::kExport, "camera");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message,
            "forbidden: identity 'bob' lacks trader.export on type 'camera'");
  EXPECT_EQ(refused.error().missing, Permission::kExport);
  EXPECT_EQ(refused.error().object, "camera");
  EXPECT_EQ(bob->Check(Permission::kPublish, "alerts").error().message,
            "forbidden: identity 'bob' lacks notify.publish on channel 'alerts'");
  EXPECT_EQ(bob->Check(Permission::kDurable, "dash.1").error().message,
            "forbidden: identity 'bob' lacks notify.durable on durable name 'dash.1'");
  EXPECT_EQ(bob->Check(Permission::kAdmin, "").error().message,
            "forbidden: identity 'bob' lacks admin");
  // A hostile object name is escaped in the message.
  EXPECT_EQ(bob->Check(Permission::kPublish, "a\x1b[2J").error().message,
            "forbidden: identity 'bob' lacks notify.publish on channel 'a\\x1B[2J'");
}

TEST(AuthPermissions, AdminAllowsEverything) {
  auto policy = MustParse("identity root\n key " + kKeyA + "\n allow admin\n");
  const Identity* root = policy->FindByName("root");
  ASSERT_NE(root, nullptr);
  EXPECT_TRUE(root->admin());
  for (Permission p : AllPermissions())
    EXPECT_TRUE(Allows(*root, p, "anything.at:all")) << PermissionName(p);
}

TEST(AuthPermissions, AnonymousGetsItsEntryOrNothing) {
  auto with = MustParse("anonymous\n allow trader.query public.*\n");
  EXPECT_TRUE(Allows(with->anonymous(), Permission::kQuery, "public.printers"));
  EXPECT_FALSE(Allows(with->anonymous(), Permission::kQuery, "private.vault"));
  EXPECT_EQ(with->anonymous().Check(Permission::kExport, "public.x").error().message,
            "forbidden: identity 'anonymous' lacks trader.export on type 'public.x'");

  auto without = MustParse("identity a\n key " + kKeyA + "\n allow admin\n");
  for (Permission p : AllPermissions())
    EXPECT_FALSE(Allows(without->anonymous(), p, "x")) << PermissionName(p);
  // An empty file: nobody may do anything.
  auto empty = MustParse("# nothing yet\n");
  EXPECT_FALSE(Allows(empty->anonymous(), Permission::kQuery, "x"));
  // No --auth at all: everything, as before issue 18.
  EXPECT_TRUE(Allows(AuthPolicy::Open()->anonymous(), Permission::kRemoveType, "x"));
}

TEST(AuthPermissions, CredentialsFindTheirIdentity) {
  const std::string cert(64, 'c');
  auto policy = MustParse(
      "identity scanner\n"
      "  cert-subject CN=scanner,O=Example Corp   # trailing space and comment dropped\n"
      "identity printer\n"
      "  cert-sha256 " +
      std::string(64, 'C') +
      "\n"  // upper case is accepted
      "  key " +
      kKeyA + "\n");
  EXPECT_EQ(policy->Find(CredentialKind::kCertSubject, "CN=scanner,O=Example Corp")->name(),
            "scanner");
  EXPECT_EQ(policy->FindByCertificate(cert, "CN=scanner,O=Example Corp")->name(),
            "printer");  // fingerprint first
  EXPECT_EQ(policy->FindByCertificate(std::string(64, 'd'), "CN=scanner,O=Example Corp")->name(),
            "scanner");
  EXPECT_EQ(policy->Find(CredentialKind::kKey, kKeyA)->name(), "printer");
  EXPECT_EQ(policy->Find(CredentialKind::kKey, kKeyB), nullptr);
  // Kinds do not mix: a key fingerprint is not a certificate fingerprint.
  EXPECT_EQ(policy->Find(CredentialKind::kCertSha256, kKeyA), nullptr);
}

TEST(AuthPermissions, KeyFingerprintIsSha256OfTheRawKey) {
  std::array<std::uint8_t, 32> zero{};
  // SHA-256 of 32 zero bytes.
  EXPECT_EQ(KeyFingerprint(zero),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925");
}

struct BadCase {
  std::string text;
  std::size_t line;
  std::string says;
};

TEST(AuthFile, ParseErrorsNameTheLineAndTheProblem) {
  const std::string key = " key " + kKeyA + "\n";
  const std::vector<BadCase> cases = {
      {"allow admin\n", 1, "'allow' outside an identity"},
      {"# c\n\nkey " + kKeyA + "\n", 3, "'key' outside an identity"},
      {"identity a\n" + key + " allow trader.exprot x\n", 3,
       "unknown permission 'trader.exprot' (known: trader.add_type"},
      {"identity a\n" + key + " allow trader.export\n", 3,
       "trader.export needs at least one type pattern"},
      {"identity a\n" + key + " allow admin x\n", 3, "admin takes no pattern"},
      {"identity a\n" + key + " allow notify.publish ok bad?\n", 3, "pattern 'bad?'"},
      {"identity a\n key 1234\n", 2, "key '1234' is not 64 hex digits"},
      {"identity a\n cert-sha256 " + std::string(64, 'z') + "\n", 2, "is not 64 hex digits"},
      {"identity a\n cert-subject   # nothing\n", 2, "cert-subject needs a subject"},
      {"identity 9lives\n", 1, "identity name '9lives' is not valid"},
      {"identity a b\n", 1, "identity takes one name"},
      {"identity anonymous\n", 1, "'anonymous' is reserved"},
      {"identity a\n" + key + "identity a\n", 3, "identity 'a' is already declared on line 1"},
      {"identity a\n" + key + "identity b\n" + key, 4, "key already names identity 'a' (line 2)"},
      {"identity a\n allow admin\nidentity b\n" + std::string(" key ") + kKeyB + "\n", 1,
       "identity 'a' has no key"},
      {"identity a\n allow admin\n", 1, "identity 'a' has no key, cert-sha256 or cert-subject"},
      {"anonymous\n key " + kKeyA + "\n", 2, "anonymous has no credentials"},
      {"anonymous\nanonymous\n", 2, "'anonymous' is declared twice"},
      {"anonymous extra\n", 1, "'anonymous' stands alone"},
      {"identity a\n" + key + " permit admin\n", 3, "unknown directive 'permit'"},
      {"identity a\n" + key + " allow admin\x07\n", 3, "control character"},
      {"identity a\n" + key + " cert-subject CN=\xff\n", 3, "not UTF-8"},
      {"identity a\n" + key + std::string(5000, ' ') + "\n", 3, "longer than 4096 bytes"},
  };
  for (const auto& c : cases) {
    ParseError error = MustFail(c.text);
    EXPECT_EQ(error.line, c.line) << c.text << "\n-> " << error.message;
    EXPECT_NE(error.message.find(c.says), std::string::npos) << c.text << "\n-> " << error.message;
    EXPECT_EQ(error.ToStatus().kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(
        error.ToStatus().message().rfind("auth file line " + std::to_string(c.line) + ": ", 0), 0u);
  }
  ParseError huge = MustFail(std::string(kMaxAuthFileBytes + 1, '#'));
  EXPECT_EQ(huge.line, 0u);
  EXPECT_EQ(huge.ToStatus().kind(), ErrorKind::kLimitExceeded);
}

TEST(AuthFile, CrlfAndTabsAreFine) {
  auto policy =
      MustParse("identity a\r\n\tkey\t" + kKeyA + "\r\n\tallow\tnotify.subscribe\tx.*\ty\r\n");
  const Identity* a = policy->FindByName("a");
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(Allows(*a, Permission::kSubscribe, "x.1"));
  EXPECT_TRUE(Allows(*a, Permission::kSubscribe, "y"));
  EXPECT_FALSE(Allows(*a, Permission::kSubscribe, "z"));
}

TEST(AuthFile, ReloadRemovesAGrantAndAFailedReloadKeepsTheOld) {
  const std::string before = "identity cam\n key " + kKeyA +
                             "\n allow trader.export camera.*\n allow trader.withdraw camera.*\n";
  const std::string after = "identity cam\n key " + kKeyA + "\n allow trader.export camera.*\n";
  AuthStore store(MustParse(before));
  EXPECT_EQ(store.generation(), 0u);
  // A connection holds its credential and the snapshot it resolved against.
  auto held = store.current();
  EXPECT_TRUE(Allows(*held->Find(CredentialKind::kKey, kKeyA), Permission::kWithdraw, "camera.1"));

  auto reloaded = store.Reload(after);
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded.value(), 1u);
  const Identity* now = store.current()->Find(CredentialKind::kKey, kKeyA);
  ASSERT_NE(now, nullptr);
  EXPECT_FALSE(Allows(*now, Permission::kWithdraw, "camera.1"));
  EXPECT_EQ(now->Check(Permission::kWithdraw, "camera.1").error().message,
            "forbidden: identity 'cam' lacks trader.withdraw on type 'camera.1'");
  EXPECT_TRUE(Allows(*now, Permission::kExport, "camera.1"));
  // The old snapshot is untouched (immutable), still valid while held.
  EXPECT_TRUE(Allows(*held->Find(CredentialKind::kKey, kKeyA), Permission::kWithdraw, "camera.1"));

  auto failed = store.Reload("identity cam\n key " + kKeyA + "\n allow trader.exprot camera.*\n");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().line, 3u);
  EXPECT_EQ(store.generation(), 1u);
  EXPECT_TRUE(
      Allows(*store.current()->Find(CredentialKind::kKey, kKeyA), Permission::kExport, "camera.1"));

  // Removing the identity: its credential no longer resolves; the caller then
  // holds Nobody, not anonymous.
  ASSERT_TRUE(store.Reload("anonymous\n allow trader.query *\n").ok());
  EXPECT_EQ(store.current()->Find(CredentialKind::kKey, kKeyA), nullptr);
  EXPECT_FALSE(Allows(AuthPolicy::Nobody(), Permission::kQuery, "camera.1"));
}

// The worked example in docs/rex-protocol.md, taken from the doc itself.
std::string DocExample() {
  std::ifstream in(ARDUS_SOURCE_DIR "/docs/rex-protocol.md");
  std::stringstream doc;
  doc << in.rdbuf();
  const std::string text = doc.str();
  const std::string marker =
      "<!-- auth-example: tests/unit/auth_test.cc parses this block -->\n```\n";
  const std::size_t start = text.find(marker);
  if (start == std::string::npos) return "";
  const std::size_t body = start + marker.size();
  return text.substr(body, text.find("```", body) - body);
}

TEST(AuthFile, TheDocumentedExampleMeansWhatTheDocSays) {
  const std::string example = DocExample();
  ASSERT_FALSE(example.empty()) << "the auth example block is missing from docs/rex-protocol.md";
  auto policy = MustParse(example);
  ASSERT_EQ(policy->identities().size(), 3u);

  const Identity* ops = policy->Find(
      CredentialKind::kKey, "a92c36e66a25ee99ff862faa8e87987be6c7cd13c3ee661c400a45b0f1e3b132");
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->name(), "ops");
  EXPECT_TRUE(Allows(*ops, Permission::kRemoveType, "anything"));

  const Identity* cam = policy->Find(
      CredentialKind::kKey, "6bf6f341d9a341ec7bded2b5920d2f8df4e8e5c1138203e8a7bf4bdfe3519493");
  ASSERT_NE(cam, nullptr);
  EXPECT_EQ(cam->name(), "camera-1");
  EXPECT_TRUE(Allows(*cam, Permission::kAddType, "camera"));
  EXPECT_TRUE(Allows(*cam, Permission::kExport, "camera.ptz"));
  EXPECT_FALSE(Allows(*cam, Permission::kExport, "printer"));
  EXPECT_FALSE(Allows(*cam, Permission::kRemoveType, "camera"));
  EXPECT_TRUE(Allows(*cam, Permission::kPublish, "cameras.front"));
  EXPECT_FALSE(Allows(*cam, Permission::kSubscribe, "cameras.front"));

  const Identity* dash = policy->FindByCertificate("", "CN=dashboard,O=Example");
  ASSERT_NE(dash, nullptr);
  EXPECT_EQ(dash->name(), "dashboard");
  EXPECT_TRUE(Allows(*dash, Permission::kQuery, "printer"));
  EXPECT_TRUE(Allows(*dash, Permission::kSubscribe, "alerts"));
  EXPECT_TRUE(Allows(*dash, Permission::kDurable, "dashboard.main"));
  EXPECT_FALSE(Allows(*dash, Permission::kDurable, "camera-1.main"));
  EXPECT_EQ(dash->Check(Permission::kPublish, "cameras.front").error().message,
            "forbidden: identity 'dashboard' lacks notify.publish on channel 'cameras.front'");

  EXPECT_TRUE(Allows(policy->anonymous(), Permission::kQuery, "public.printer"));
  EXPECT_FALSE(Allows(policy->anonymous(), Permission::kQuery, "camera"));
}

}  // namespace
}  // namespace ardus::auth
