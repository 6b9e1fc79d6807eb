/*
 * cxx.cc - test-only plugin written in C++: the descriptor comes from
 * ASOCKD_PLUGIN_DEFINE compiled by the C++ compiler, and the plugin uses
 * the standard library.  Each line a client sends comes back reversed,
 * after the INI setting
 *   [cxx]
 *   prefix = "cxx: "
 * (declared in the plugin's settings table, default "cxx: ").
 */
#include <algorithm>
#include <cstring>
#include <string>

#include <asockd/plugin.h>

namespace {

/* One host table; the prefix is per instance (pdata), as the same .so
 * may be loaded under two names. */
const struct asockd_host *host;

int
cxx_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	*pdata = new std::string(host->ini_str(inst, "cxx", "prefix", "?"));
	return 0;
}

void
cxx_fini(struct asockd_instance *inst)
{
	delete static_cast<std::string *>(host->instance_data(inst));
}

size_t
cxx_receive(struct asockd_conn *c, const void *data, size_t len)
{
	const char	*p = static_cast<const char *>(data);
	const char	*nl;
	size_t		 used = 0;
	const std::string &prefix = *static_cast<std::string *>(
	    host->instance_data(host->conn_instance(c)));

	while ((nl = static_cast<const char *>(std::memchr(p + used, '\n',
	    len - used))) != nullptr) {
		std::string line(p + used, nl);
		std::reverse(line.begin(), line.end());
		line = prefix + line + "\n";
		(void)host->send(c, line.data(), line.size());
		used = static_cast<size_t>(nl - p) + 1;
	}
	return used;
}

const struct asockd_setting cxx_settings[] = {
	{ "cxx", "prefix", ASOCKD_SET_STRING, "cxx: ", 0, 0, nullptr,
	    "text put before each reversed line" },
	{ nullptr, nullptr, 0, nullptr, 0, 0, nullptr, nullptr }
};

} // namespace

ASOCKD_PLUGIN_DEFINE(
	.on_receive = cxx_receive,
	.name = "cxx",
	.version = "1.0",
	.init = cxx_init,
	.fini = cxx_fini,
	.settings = cxx_settings
);
