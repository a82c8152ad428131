#include "genl.h"

#include <linux/genetlink.h>

#include <cerrno>
#include <cstring>

#include "errors.h"

namespace kpt {

std::optional<GenlFamily> ResolveGenlFamily(NetlinkSocket& sock, const std::string& name, uint32_t seq) {
  MessageWriter w;
  auto msg = w.BeginMessage(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq);
  genlmsghdr hdr{};
  hdr.cmd = CTRL_CMD_GETFAMILY;
  hdr.version = 1;
  w.PutHeader(hdr);
  w.PutString(CTRL_ATTR_FAMILY_NAME, name);
  w.EndMessage(msg);
  sock.Send(w.Bytes());

  std::optional<GenlFamily> found;
  std::vector<uint8_t> buf;
  for (;;) {
    if (!sock.Receive(buf, kReplyTimeoutMs)) throw NetlinkFailure(ETIMEDOUT, "no reply to CTRL_CMD_GETFAMILY");
    MessageReader reader(buf.data(), buf.size());
    Message m;
    while (reader.Next(m)) {
      sock.CheckReply(m, seq, seq);
      if (m.hdr.nlmsg_type == NLMSG_ERROR) {
        AckInfo ack = ParseAck(m);
        if (ack.error == ENOENT) return std::nullopt;
        if (ack.error != 0) {
          throw NetlinkFailure(ack.error, "resolving generic netlink family " + name + ": " + std::strerror(ack.error));
        }
        return found;  // the ack follows the NEWFAMILY reply
      }
      if (m.hdr.nlmsg_type != GENL_ID_CTRL) continue;
      auto t = m.TableAfter<genlmsghdr, CTRL_ATTR_MAX>();
      GenlFamily f;
      f.id = t.Require(CTRL_ATTR_FAMILY_ID, "CTRL_ATTR_FAMILY_ID").U16();
      if (const Attr* v = t.Get(CTRL_ATTR_VERSION)) f.version = v->U32();
      found = f;
    }
  }
}

}  // namespace kpt
