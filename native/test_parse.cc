#include "test_parse.h"

#include <string>

#include "async.h"
#include "conntrack.h"
#include "ipvs.h"
#include "wire.h"
#include "nftables.h"
#include "rtnetlink.h"
#include "nl_message.h"
#include "nl_socket.h"

namespace kpt {

namespace {

Napi::Value TestParseJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "testParseReplies(kind, Uint8Array)");
  }
  const std::string kind = info[0].As<Napi::String>().Utf8Value();
  auto bytes = info[1].As<Napi::Uint8Array>();
  try {
    Value v;
    if (kind.rfind("nft:", 0) == 0) {
      v = ParseNftReplies(kind.substr(4), bytes.Data(), bytes.ByteLength());
    } else if (kind.rfind("rtnl:", 0) == 0) {
      v = ParseRtnlReplies(kind.substr(5), bytes.Data(), bytes.ByteLength());
    } else if (kind.rfind("ipvs:", 0) == 0) {
      v = ParseIpvsReplies(kind.substr(5), bytes.Data(), bytes.ByteLength());
    } else if (kind == "acks") {
      v = Value::Array();
      MessageReader reader(bytes.Data(), bytes.ByteLength());
      Message m;
      while (reader.Next(m)) {
        if (m.hdr.nlmsg_type != NLMSG_ERROR) continue;
        AckInfo ack = ParseAck(m);
        Value a = Value::Object();
        a.Set("seq", Value::Number(ack.seq));
        a.Set("errno", Value::Number(ack.error));
        if (!ack.message.empty()) a.Set("message", Value::Str(ack.message));
        if (ack.offset >= 0) a.Set("offset", Value::Number(static_cast<double>(ack.offset)));
        v.Push(std::move(a));
      }
    } else if (kind == "conntrack") {
      v = ParseConntrackReplies(bytes.Data(), bytes.ByteLength());
    } else {
      throw Napi::TypeError::New(env, "unknown parser '" + kind + "'");
    }
    return v.ToJs(env);
  } catch (const ParseError& e) {
    Napi::Error js = MakeJsError(env, NetlinkFailure(EPROTO, e.what()));
    js.Set("malformedReply", Napi::Boolean::New(env, true));
    throw js;
  } catch (const NetlinkFailure& e) {
    throw MakeJsError(env, e);
  } catch (const InputError& e) {
    throw Napi::TypeError::New(env, e.what());
  }
}

}  // namespace

void RegisterTestParse(Napi::Env env, Napi::Object exports) {
  exports.Set("testParseReplies", Napi::Function::New(env, TestParseJs, "testParseReplies"));
}

}  // namespace kpt
