/* Minimal DHCPv4 client (RFC 2131, options from RFC 2132): obtains one lease, never renews. */
#include "init.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define DHCP_MAGIC_COOKIE 0x63825363 /* RFC 2131 §3: 99.130.83.99 */
#define BOOTREQUEST 1
#define BOOTREPLY 2
#define HTYPE_ETHERNET 1
#define FLAG_BROADCAST 0x8000

/* RFC 2131 §4.1 suggests 4 s, doubling; a VM's DHCP server is local, so start lower to boot fast. */
#define FIRST_RETRY_MS 500
#define MAX_RETRY_MS 4000
#define TOTAL_MS 10000

enum message_type { DHCPDISCOVER = 1, DHCPOFFER, DHCPREQUEST, DHCPDECLINE, DHCPACK, DHCPNAK };

enum option_code { /* RFC 2132 */
	OPT_PAD = 0,
	OPT_SUBNET_MASK = 1,
	OPT_ROUTER = 3,
	OPT_DNS = 6,
	OPT_HOSTNAME = 12,
	OPT_DOMAIN = 15,
	OPT_REQUESTED_IP = 50,
	OPT_LEASE_TIME = 51,
	OPT_MESSAGE_TYPE = 53,
	OPT_SERVER_ID = 54,
	OPT_PARAMETER_LIST = 55,
	OPT_END = 255,
};

struct dhcp_message { /* RFC 2131 §2, figure 1 */
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	char sname[64];
	char file[128];
	uint32_t magic;
	uint8_t options[308]; /* fills the 576-byte datagram every host must accept */
};
_Static_assert(sizeof(struct dhcp_message) == 548, "DHCP message layout");

struct dhcp_reply {
	int type;
	struct in_addr server_id;
	uint32_t lease_s;
	struct net_config net; /* address is the reply's yiaddr */
};

struct dhcp_client {
	int sock;
	uint32_t xid;
	uint8_t mac[6];
	const char *hostname;
	long long started_ms;
};

static uint8_t *put_option(uint8_t *at, uint8_t code, const void *data, size_t len)
{
	at[0] = code;
	at[1] = (uint8_t)len;
	memcpy(at + 2, data, len);
	return at + 2 + len;
}

static bool send_message(const struct dhcp_client *client, int type, const struct dhcp_reply *offer)
{
	struct dhcp_message msg = {
		.op = BOOTREQUEST,
		.htype = HTYPE_ETHERNET,
		.hlen = 6,
		.xid = client->xid,
		.secs = htons((uint16_t)((uptime_ms() - client->started_ms) / 1000)),
		/* RFC 2131 §4.1: without an address we cannot receive unicast, so ask for broadcast replies. */
		.flags = htons(FLAG_BROADCAST),
		.magic = htonl(DHCP_MAGIC_COOKIE),
	};
	memcpy(msg.chaddr, client->mac, 6);

	static const uint8_t wanted[] = { OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS, OPT_DOMAIN, OPT_LEASE_TIME };
	uint8_t message_type = (uint8_t)type;
	uint8_t *at = put_option(msg.options, OPT_MESSAGE_TYPE, &message_type, 1);
	/* RFC 2131 §4.3.2: a REQUEST answering an OFFER names the server and the offered address. */
	if (type == DHCPREQUEST) {
		at = put_option(at, OPT_REQUESTED_IP, &offer->net.address, 4);
		at = put_option(at, OPT_SERVER_ID, &offer->server_id, 4);
	}
	at = put_option(at, OPT_HOSTNAME, client->hostname, strlen(client->hostname));
	at = put_option(at, OPT_PARAMETER_LIST, wanted, sizeof wanted);
	*at = OPT_END;

	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(DHCP_SERVER_PORT),
		.sin_addr = { INADDR_BROADCAST },
	};
	if (sendto(client->sock, &msg, sizeof msg, 0, (struct sockaddr *)&to, sizeof to) < 0) {
		log_warn("cannot send DHCP message as %s", strerror(errno));
		return false;
	}
	log_debug("dhcp sent %s", type == DHCPDISCOVER ? "DISCOVER" : "REQUEST");
	return true;
}

static void parse_options(const uint8_t *options, size_t len, struct dhcp_reply *reply)
{
	for (size_t i = 0; i < len;) {
		uint8_t code = options[i++];
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END || i >= len)
			break;
		size_t size = options[i++];
		if (i + size > len)
			break;
		const uint8_t *data = options + i;
		i += size;

		struct net_config *net = &reply->net;
		if (code == OPT_MESSAGE_TYPE && size == 1) {
			reply->type = data[0];
		} else if (code == OPT_SERVER_ID && size == 4) {
			memcpy(&reply->server_id, data, 4);
		} else if (code == OPT_SUBNET_MASK && size == 4) {
			memcpy(&net->netmask, data, 4);
		} else if (code == OPT_ROUTER && size >= 4) {
			memcpy(&net->gateway, data, 4); /* the first router is the preferred one */
		} else if (code == OPT_DNS) {
			for (size_t off = 0; off + 4 <= size && net->dns_count < MAX_DNS_SERVERS; off += 4)
				memcpy(&net->dns[net->dns_count++], data + off, 4);
		} else if (code == OPT_DOMAIN && size < sizeof net->domain) {
			memcpy(net->domain, data, size);
			net->domain[size] = '\0';
		} else if (code == OPT_LEASE_TIME && size == 4) {
			uint32_t seconds;
			memcpy(&seconds, data, 4);
			reply->lease_s = ntohl(seconds);
		}
	}
}

/* Only replies to our transaction that move the exchange forward are accepted. */
static bool parse_reply(const struct dhcp_client *client, const struct dhcp_message *msg, size_t len,
			int sent_type, const struct dhcp_reply *offer, struct dhcp_reply *reply)
{
	size_t fixed = offsetof(struct dhcp_message, options);
	if (len < fixed || msg->op != BOOTREPLY || msg->xid != client->xid ||
	    memcmp(msg->chaddr, client->mac, 6) != 0 || msg->magic != htonl(DHCP_MAGIC_COOKIE))
		return false;
	memset(reply, 0, sizeof *reply);
	reply->net.address.s_addr = msg->yiaddr;
	parse_options(msg->options, len - fixed, reply);
	if (sent_type == DHCPDISCOVER)
		return reply->type == DHCPOFFER && reply->net.address.s_addr != INADDR_ANY;
	if (reply->server_id.s_addr != offer->server_id.s_addr)
		return false;
	return reply->type == DHCPACK || reply->type == DHCPNAK;
}

static bool wait_reply(const struct dhcp_client *client, long long until_ms, int sent_type,
		       const struct dhcp_reply *offer, struct dhcp_reply *reply)
{
	for (long long now = uptime_ms(); now < until_ms; now = uptime_ms()) {
		struct pollfd pfd = { .fd = client->sock, .events = POLLIN };
		if (poll(&pfd, 1, (int)(until_ms - now)) <= 0)
			continue;
		struct dhcp_message msg;
		ssize_t len = recv(client->sock, &msg, sizeof msg, 0);
		if (len > 0 && parse_reply(client, &msg, (size_t)len, sent_type, offer, reply))
			return true;
	}
	return false;
}

static int open_client_socket(const char *ifname)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -1;
	int on = 1;
	struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(DHCP_CLIENT_PORT) };
	/* Binding to the device makes broadcasts leave through eth0 although it has no address yet. */
	if (setsockopt(sock, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
	    setsockopt(sock, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    bind(sock, (struct sockaddr *)&local, sizeof local) < 0) {
		int saved_errno = errno;
		close(sock);
		errno = saved_errno;
		return -1;
	}
	return sock;
}

/* Classful default (RFC 950 era) when a server omits option 1. */
static struct in_addr default_netmask(struct in_addr address)
{
	uint32_t first_octet = ntohl(address.s_addr) >> 24;
	uint32_t mask = first_octet < 128 ? 0xff000000 : first_octet < 192 ? 0xffff0000 : 0xffffff00;
	return (struct in_addr){ htonl(mask) };
}

static void log_lease(const struct dhcp_reply *ack, long long started_ms)
{
	char address[16], server[16], dns[16];
	log_info("dhcp lease %s from %s in %lld ms, dns %s, lease %u s",
		 format_ipv4(ack->net.address, address), format_ipv4(ack->server_id, server),
		 uptime_ms() - started_ms, ack->net.dns_count ? format_ipv4(ack->net.dns[0], dns) : "none",
		 ack->lease_s);
}

bool dhcp_lease(const char *ifname, const uint8_t mac[6], const char *hostname, struct net_config *out)
{
	struct dhcp_client client = { .hostname = hostname, .started_ms = uptime_ms() };
	memcpy(client.mac, mac, 6);
	client.sock = open_client_socket(ifname);
	if (client.sock < 0) {
		log_warn("cannot open DHCP socket on %s as %s", ifname, strerror(errno));
		return false;
	}
	/* The xid only has to differ from other clients' (RFC 2131 §4.1); getrandom could block this early. */
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	client.xid = (uint32_t)now.tv_nsec ^ ((uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 |
					      (uint32_t)mac[4] << 8 | mac[5]);

	long long deadline = client.started_ms + TOTAL_MS;
	int retry_ms = FIRST_RETRY_MS, sending = DHCPDISCOVER;
	struct dhcp_reply offer = { 0 }, reply;
	bool leased = false;
	while (!leased && uptime_ms() < deadline) {
		send_message(&client, sending, &offer);
		long long retry_at = uptime_ms() + retry_ms;
		if (!wait_reply(&client, retry_at < deadline ? retry_at : deadline, sending, &offer, &reply)) {
			retry_ms = retry_ms * 2 > MAX_RETRY_MS ? MAX_RETRY_MS : retry_ms * 2;
			continue;
		}
		retry_ms = FIRST_RETRY_MS;
		if (reply.type == DHCPOFFER) {
			offer = reply;
			sending = DHCPREQUEST;
		} else if (reply.type == DHCPNAK) {
			log_debug("dhcp NAK, starting over");
			sending = DHCPDISCOVER;
		} else {
			leased = true;
		}
	}
	close(client.sock);
	if (!leased)
		return false;

	*out = reply.net;
	if (out->netmask.s_addr == INADDR_ANY)
		out->netmask = default_netmask(out->address);
	log_lease(&reply, client.started_ms);
	return true;
}
