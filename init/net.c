/* Loopback and eth0 configuration through the classic SIOC* ioctls, plus resolver files. */
#include "init.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ETH_INTERFACE "eth0"
#define ETH_WAIT_MS 5000

bool parse_ipv4(const char *text, struct in_addr *out)
{
	return inet_pton(AF_INET, text, out) == 1;
}

const char *format_ipv4(struct in_addr addr, char buf[16])
{
	return inet_ntop(AF_INET, &addr, buf, 16);
}

static int prefix_length(struct in_addr netmask)
{
	return __builtin_popcount(netmask.s_addr);
}

static void set_sockaddr(struct sockaddr *sa, struct in_addr addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = addr };
	memcpy(sa, &sin, sizeof sin);
}

static int control_socket(void)
{
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static bool interface_up(const char *ifname)
{
	int sock = control_socket();
	struct ifreq ifr = { 0 };
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	bool ok = sock >= 0 && ioctl(sock, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	ok = ok && ioctl(sock, SIOCSIFFLAGS, &ifr) == 0;
	if (!ok)
		log_warn("cannot bring up %s as %s", ifname, strerror(errno));
	if (sock >= 0)
		close(sock);
	return ok;
}

/* SIOCSIFADDR also installs the subnet route; the netmask must follow it, not precede it. */
static bool interface_set_address(const char *ifname, struct in_addr address, struct in_addr netmask)
{
	int sock = control_socket();
	struct ifreq ifr = { 0 };
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	set_sockaddr(&ifr.ifr_addr, address);
	bool ok = sock >= 0 && ioctl(sock, SIOCSIFADDR, &ifr) == 0;
	set_sockaddr(&ifr.ifr_netmask, netmask);
	ok = ok && ioctl(sock, SIOCSIFNETMASK, &ifr) == 0;
	if (!ok)
		log_warn("cannot set address of %s as %s", ifname, strerror(errno));
	if (sock >= 0)
		close(sock);
	return ok;
}

static bool add_default_route(const char *ifname, struct in_addr gateway)
{
	int sock = control_socket();
	struct rtentry route = { 0 };
	set_sockaddr(&route.rt_dst, (struct in_addr){ INADDR_ANY });
	set_sockaddr(&route.rt_genmask, (struct in_addr){ INADDR_ANY });
	set_sockaddr(&route.rt_gateway, gateway);
	route.rt_flags = RTF_UP | RTF_GATEWAY;
	route.rt_dev = (char *)ifname;
	bool ok = sock >= 0 && ioctl(sock, SIOCADDRT, &route) == 0;
	if (!ok)
		log_warn("cannot add default route via %s as %s", inet_ntoa(gateway), strerror(errno));
	if (sock >= 0)
		close(sock);
	return ok;
}

static bool interface_mac(const char *ifname, uint8_t mac[6])
{
	int sock = control_socket();
	struct ifreq ifr = { 0 };
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	bool ok = sock >= 0 && ioctl(sock, SIOCGIFHWADDR, &ifr) == 0;
	if (ok)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (sock >= 0)
		close(sock);
	return ok;
}

/* Without udev nothing announces new interfaces, so poll sysfs while the driver probes. */
static bool wait_for_interface(const char *ifname, int timeout_ms)
{
	char path[64];
	snprintf(path, sizeof path, "/sys/class/net/%s", ifname);
	const struct timespec step = { 0, 10 * 1000000 };
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (access(path, F_OK) == 0)
			return true;
		nanosleep(&step, NULL);
	}
	return false;
}

static void write_text_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t len = strlen(text);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		log_warn("cannot write %s as %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void write_resolver_files(const struct net_config *net, const char *hostname)
{
	char text[512] = "", addr[16];
	size_t len = 0;
	mkdir("/etc", 0755);
	if (net->domain[0])
		len += (size_t)snprintf(text + len, sizeof text - len, "search %s\n", net->domain);
	for (int i = 0; i < net->dns_count; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "nameserver %s\n",
					format_ipv4(net->dns[i], addr));
	write_text_file("/etc/resolv.conf", text);
	snprintf(text, sizeof text, "127.0.0.1\tlocalhost %s\n::1\tlocalhost\n", hostname);
	write_text_file("/etc/hosts", text);
}

static bool configure_eth(const struct boot_config *cfg, struct net_config *net)
{
	if (!wait_for_interface(ETH_INTERFACE, ETH_WAIT_MS)) {
		log_warn("no %s after %d ms, continuing with loopback only", ETH_INTERFACE, ETH_WAIT_MS);
		return false;
	}
	if (!interface_up(ETH_INTERFACE))
		return false;
	if (!cfg->static_net) {
		uint8_t mac[6];
		if (!interface_mac(ETH_INTERFACE, mac) || !dhcp_lease(ETH_INTERFACE, mac, cfg->hostname, net)) {
			log_warn("no DHCP lease on %s, continuing with loopback only", ETH_INTERFACE);
			return false;
		}
	}
	if (!interface_set_address(ETH_INTERFACE, net->address, net->netmask))
		return false;
	if (net->gateway.s_addr != INADDR_ANY)
		add_default_route(ETH_INTERFACE, net->gateway);

	char address[16], gateway[16];
	log_info("network %s %s/%d gw %s", ETH_INTERFACE, format_ipv4(net->address, address),
		 prefix_length(net->netmask),
		 net->gateway.s_addr ? format_ipv4(net->gateway, gateway) : "none");
	return true;
}

void setup_network(const struct boot_config *cfg)
{
	struct net_config net = cfg->net;
	struct in_addr loopback = { htonl(INADDR_LOOPBACK) }, loopback_mask = { htonl(0xff000000) };
	if (interface_set_address("lo", loopback, loopback_mask))
		interface_up("lo");
	if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		log_warn("cannot set hostname as %s: %s", strerror(errno), cfg->hostname);
	if (!configure_eth(cfg, &net))
		log_info("network lo only");
	write_resolver_files(&net, cfg->hostname);
}
