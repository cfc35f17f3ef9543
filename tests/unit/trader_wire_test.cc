// Trader values and definitions through MessagePack and back.
#include "trader/trader_wire.h"

#include <gtest/gtest.h>

namespace ardus::trader {
namespace {

using namespace ardus::tcl;  // the values offers hold

msgpack::object_handle Unpack(const rex::BodyWriter& w) {
  auto b = w.bytes();
  return msgpack::unpack(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(TraderWire, OfferRoundTripKeepsEveryValueType) {
  Offer o{42,
          "printer",
          {{"i", std::int64_t{-7}},
           {"f", 2.5},
           {"b", true},
           {"s", std::string("Cambridge Lab")},
           {"is", std::vector<std::int64_t>{1, -2}},
           {"fs", std::vector<double>{0.5}},
           {"bs", std::vector<bool>{true, false}},
           {"ss", std::vector<std::string>{"en", "fr"}}},
          30,
          123456};
  rex::BodyWriter w;
  EncodeOffer(w, o);
  auto h = Unpack(w);
  auto back = DecodeOffer(h.get());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back.value().id, 42u);
  EXPECT_EQ(back.value().type, "printer");
  EXPECT_EQ(back.value().props, o.props);
  EXPECT_EQ(back.value().lease_seconds, 30u);
  EXPECT_EQ(back.value().deadline_ms, 123456);
}

TEST(TraderWire, ArraysTakeTheirElementType) {
  rex::BodyWriter w;
  w.Array(2).Int(1).Double(2.5);  // an int among floats makes float[]
  auto h = Unpack(w);
  auto v = DecodeValue(h.get());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(TypeOf(v.value()), (PropertyType{BaseType::kFloat, true}));
  rex::BodyWriter mixed;
  mixed.Array(2).Str("a").Int(1);
  auto h2 = Unpack(mixed);
  EXPECT_EQ(DecodeValue(h2.get()).error().code, rex::Code::kBadRequest);
  rex::BodyWriter nested;
  nested.Map(0);
  auto h3 = Unpack(nested);
  EXPECT_FALSE(DecodeValue(h3.get()).ok());
}

TEST(TraderWire, EmptySequencesFitAnySequenceType) {
  Value empty = std::vector<std::int64_t>{};
  EXPECT_TRUE(Conforms(empty, {BaseType::kString, true}));
  EXPECT_EQ(TypeOf(Coerce(empty, {BaseType::kString, true})),
            (PropertyType{BaseType::kString, true}));
  EXPECT_FALSE(Conforms(empty, {BaseType::kString, false}));
}

TEST(TraderWire, ServiceTypeRoundTripAndUnknownValueType) {
  ServiceType t{"printer",
                {"device"},
                {{"ppm", {BaseType::kInt, false}, true, false},
                 {"langs", {BaseType::kString, true}, false, true}}};
  rex::BodyWriter w;
  EncodeServiceType(w, t);
  auto body = rex::BodyReader::Parse(w.bytes());
  ASSERT_TRUE(body.ok());
  auto back = DecodeServiceType(body.value());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value().supers, t.supers);
  ASSERT_EQ(back.value().properties.size(), 2u);
  EXPECT_EQ(back.value().properties[1].type, (PropertyType{BaseType::kString, true}));
  EXPECT_TRUE(back.value().properties[1].readonly);

  rex::BodyWriter bad;
  bad.Map(2)
      .Key("name")
      .Str("x")
      .Key("properties")
      .Array(1)
      .Map(2)
      .Key("name")
      .Str("p")
      .Key("type")
      .Str("decimal");
  auto bad_body = rex::BodyReader::Parse(bad.bytes());
  EXPECT_EQ(DecodeServiceType(bad_body.value()).error().code, rex::Code::kInvalidType);
}

TEST(TraderWire, CommandLineValueText) {
  EXPECT_EQ(ParseValueText("30", {BaseType::kInt, false}), Value(std::int64_t{30}));
  EXPECT_EQ(ParseValueText("en,fr", {BaseType::kString, true}),
            Value(std::vector<std::string>{"en", "fr"}));
  EXPECT_EQ(ParseValueText("true", {BaseType::kBool, false}), Value(true));
  EXPECT_FALSE(ParseValueText("3x", {BaseType::kInt, false}));
  EXPECT_FALSE(ParseValueText("inf", {BaseType::kFloat, false}));
  EXPECT_EQ(FormatValue(Value(std::vector<double>{0.5, 2})), "0.5,2");
}

}  // namespace
}  // namespace ardus::trader
