/*
 * shared.h - names of their own for the daemon files built into
 * libasockd-client (daemon/addr.c, mp.c, utf8.c), forced into every
 * file of the library with -include.
 *
 * The shared library exports only asockd_client_* (-export-symbols-regex)
 * and hides these anyway; a static build of the library would not, and a
 * program with a utf8_valid() of its own must not get ours, nor we its.
 */
#ifndef ASOCKD_CLIENT_SHARED_H
#define ASOCKD_CLIENT_SHARED_H

#define addr_format		asockdcl__addr_format
#define addr_kind_name		asockdcl__addr_kind_name
#define addr_parse		asockdcl__addr_parse
#define addr_uri		asockdcl__addr_uri
#define mp_check	asockdcl__mp_check
#define mp_be			asockdcl__mp_be
#define mp_fits			asockdcl__mp_fits
#define mp_header		asockdcl__mp_header
#define mp_walk			asockdcl__mp_walk
#define utf8_valid		asockdcl__utf8_valid

#endif /* ASOCKD_CLIENT_SHARED_H */
