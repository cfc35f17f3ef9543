# A multicast LAN built from network namespaces, shared by the integration
# test and the benchmarks. Source it, then:
#   testbed_up TAG N LOSS_PCT CAP   # CAP: tc rate such as 1gbit, or "none"
#   testbed_exec TAG HOST CMD...    # HOST: s (sender, 10.77.0.1) or r1..rN (10.77.0.10+i)
#   testbed_tx_bytes TAG            # bytes the sender has put on its link
#   testbed_down TAG
# Every receiver loses LOSS_PCT% of the UDP frames sent to it at random
# (nftables numgen on its switch port), independently. The sender's link is
# optionally capped with tc tbf. All addresses live inside these namespaces;
# nothing leaves the machine.

testbed_up() {
  local tag=$1 n=$2 loss=$3 cap=$4
  ip netns add "$tag-br" || return 1
  ip -n "$tag-br" link add br0 type bridge mcast_snooping 0 || return 1
  # A switch forwards without a firewall. Where br_netfilter is loaded (as on
  # Docker hosts), bridged frames would go through iptables hooks per port.
  ip netns exec "$tag-br" sysctl -q -w net.bridge.bridge-nf-call-iptables=0 \
    net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
  ip -n "$tag-br" link set br0 up || return 1
  _testbed_plug "$tag" s 10.77.0.1 || return 1
  if [[ $cap != none ]]; then
    tc -n "$tag-s" qdisc add dev eth0 root tbf rate "$cap" burst 256kb latency 50ms || return 1
  fi
  local i
  for ((i = 1; i <= n; i++)); do _testbed_plug "$tag" "r$i" "10.77.0.$((10 + i))" || return 1; done
  # Loss is drawn per frame on the switch port towards each receiver, before
  # the receiver's GRO could merge frames (a drop there would lose a burst).
  if ((loss > 0)); then
    {
      echo "table bridge testbed_loss {"
      echo "  chain forward {"
      echo "    type filter hook forward priority 0;"
      for ((i = 1; i <= n; i++)); do
        echo "    oifname \"p-r$i\" meta l4proto udp numgen random mod 100 < $loss drop"
      done
      echo "  }"
      echo "}"
    } | ip netns exec "$tag-br" nft -f - || return 1
  fi
}

# Every step must work: a host half set up would measure something else.
_testbed_plug() {
  local tag=$1 host=$2 addr=$3
  ip netns add "$tag-$host" || return 1
  ip link add eth0 netns "$tag-$host" type veth peer name "p-$host" netns "$tag-br" || return 1
  ip -n "$tag-br" link set "p-$host" master br0 up || return 1
  ip -n "$tag-$host" addr add "$addr/24" dev eth0 || return 1
  # A host's link carries frames, not the kernel's GSO super-packets: cap the
  # segments per packet at 1 so that a GSO send is cut into frames before the
  # veth, as a NIC would put them on a wire. Otherwise the veth, the bridge
  # and its loss rules would see 64 KiB packets: loss would come in
  # bursts and tx_bytes would count one header per super-packet.
  ip -n "$tag-$host" link set eth0 gso_max_segs 1 || return 1
  # Receive offload as on a NIC, where GRO is on by default: veth then merges
  # a run of frames for a socket that asked for it (UDP_GRO). veth merges
  # forwarded frames only from a port that does no TSO, as a switch does none.
  ip netns exec "$tag-$host" ethtool -K eth0 gro on >/dev/null || return 1
  ip netns exec "$tag-br" ethtool -K "p-$host" tso off >/dev/null || return 1
  ip -n "$tag-$host" link set eth0 up || return 1
  ip -n "$tag-$host" link set lo up || return 1
  # Multicast leaves through eth0 even for tools that do not choose an interface.
  ip -n "$tag-$host" route add 224.0.0.0/4 dev eth0 || return 1
}

testbed_exec() {
  local tag=$1 host=$2
  shift 2
  ip netns exec "$tag-$host" "$@"
}

testbed_tx_bytes() { ip netns exec "$1-s" cat /sys/class/net/eth0/statistics/tx_bytes; }

testbed_down() {
  local tag=$1 ns
  for ns in $(ip netns list | awk '{print $1}' | grep "^$tag-"); do ip netns del "$ns"; done
}
