/*
 * shared.h - names of their own for the daemon files built into
 * libasockd-test (daemon/frame.c, archive.c, ini.c, perm.c, mp.c,
 * utf8.c, xmalloc.c) and for the kit's internal functions, forced into
 * every file of the library with -include, as client/shared.h does for
 * libasockd-client.
 *
 * The shared library exports only asockd_test_* (-export-symbols-regex)
 * and hides these anyway; a static build of the library would not, and
 * a test program with a log_warnx() or an ini_load() of its own (or one
 * that links daemon/libasockd.a, as the daemon's own tests do) must not
 * get ours, nor we its.
 */
#ifndef ASOCKD_TEST_SHARED_H
#define ASOCKD_TEST_SHARED_H

#define archive_nreaders        asockdtk__archive_nreaders
#define archive_rd_array        asockdtk__archive_rd_array
#define archive_rd_bin          asockdtk__archive_rd_bin
#define archive_rd_bool         asockdtk__archive_rd_bool
#define archive_rd_copy         asockdtk__archive_rd_copy
#define archive_rd_double       asockdtk__archive_rd_double
#define archive_rd_ext          asockdtk__archive_rd_ext
#define archive_rd_float        asockdtk__archive_rd_float
#define archive_rd_float_bits   asockdtk__archive_rd_float_bits
#define archive_rd_free         asockdtk__archive_rd_free
#define archive_rd_gc           asockdtk__archive_rd_gc
#define archive_rd_int          asockdtk__archive_rd_int
#define archive_rd_map          asockdtk__archive_rd_map
#define archive_rd_next_type    asockdtk__archive_rd_next_type
#define archive_rd_nil          asockdtk__archive_rd_nil
#define archive_rd_open         asockdtk__archive_rd_open
#define archive_rd_raw          asockdtk__archive_rd_raw
#define archive_rd_skip         asockdtk__archive_rd_skip
#define archive_rd_str          asockdtk__archive_rd_str
#define archive_rd_uint         asockdtk__archive_rd_uint
#define archive_wr_array        asockdtk__archive_wr_array
#define archive_wr_bin          asockdtk__archive_wr_bin
#define archive_wr_bool         asockdtk__archive_wr_bool
#define archive_wr_data         asockdtk__archive_wr_data
#define archive_wr_double       asockdtk__archive_wr_double
#define archive_wr_ext          asockdtk__archive_wr_ext
#define archive_wr_float        asockdtk__archive_wr_float
#define archive_wr_free         asockdtk__archive_wr_free
#define archive_wr_int          asockdtk__archive_wr_int
#define archive_wr_map          asockdtk__archive_wr_map
#define archive_wr_new          asockdtk__archive_wr_new
#define archive_wr_nil          asockdtk__archive_wr_nil
#define archive_wr_raw          asockdtk__archive_wr_raw
#define archive_wr_reset        asockdtk__archive_wr_reset
#define archive_wr_str          asockdtk__archive_wr_str
#define archive_wr_uint         asockdtk__archive_wr_uint
#define fatal                   asockdtk__fatal
#define fatalx                  asockdtk__fatalx
#define frame_next              asockdtk__frame_next
#define ini_find                asockdtk__ini_find
#define ini_free                asockdtk__ini_free
#define ini_load                asockdtk__ini_load
#define ini_parse_bool          asockdtk__ini_parse_bool
#define ini_parse_double        asockdtk__ini_parse_double
#define ini_parse_int           asockdtk__ini_parse_int
#define ini_setting             asockdtk__ini_setting
#define ini_table_check         asockdtk__ini_table_check
#define ini_table_print         asockdtk__ini_table_print
#define ini_type_name           asockdtk__ini_type_name
#define ini_validate            asockdtk__ini_validate
#define kit_addr_format         asockdtk__kit_addr_format
#define kit_addr_parse          asockdtk__kit_addr_parse
#define kit_alloc               asockdtk__kit_alloc
#define kit_archive_table       asockdtk__kit_archive_table
#define kit_arm_reset           asockdtk__kit_arm_reset
#define kit_buf_add             asockdtk__kit_buf_add
#define kit_buf_drop            asockdtk__kit_buf_drop
#define kit_buf_free            asockdtk__kit_buf_free
#define kit_buf_printf          asockdtk__kit_buf_printf
#define kit_buf_str             asockdtk__kit_buf_str
#define kit_buf_vprintf         asockdtk__kit_buf_vprintf
#define kit_cb_enter            asockdtk__kit_cb_enter
#define kit_cb_leave            asockdtk__kit_cb_leave
#define kit_conn_callbacks      asockdtk__kit_conn_callbacks
#define kit_conn_new            asockdtk__kit_conn_new
#define kit_conn_sndbuf         asockdtk__kit_conn_sndbuf
#define kit_conn_want           asockdtk__kit_conn_want
#define kit_cur                 asockdtk__kit_cur
#define kit_deliver             asockdtk__kit_deliver
#define kit_finish              asockdtk__kit_finish
#define kit_frame_next          asockdtk__kit_frame_next
#define kit_has_cb              asockdtk__kit_has_cb
#define kit_host_close          asockdtk__kit_host_close
#define kit_host_table          asockdtk__kit_host_table
#define kit_ini_free            asockdtk__kit_ini_free
#define kit_ini_load            asockdtk__kit_ini_load
#define kit_ini_table_check     asockdtk__kit_ini_table_check
#define kit_ini_value           asockdtk__kit_ini_value
#define kit_listener_test       asockdtk__kit_listener_test
#define kit_live                asockdtk__kit_live
#define kit_parse_bool          asockdtk__kit_parse_bool
#define kit_parse_double        asockdtk__kit_parse_double
#define kit_parse_int           asockdtk__kit_parse_int
#define kit_rd_gc               asockdtk__kit_rd_gc
#define kit_reap                asockdtk__kit_reap
#define kit_report              asockdtk__kit_report
#define kit_settle              asockdtk__kit_settle
#define kit_turn_all            asockdtk__kit_turn_all
#define kit_violation           asockdtk__kit_violation
#define kit_vlog                asockdtk__kit_vlog
#define log_warnx               asockdtk__log_warnx
#define mp_be                   asockdtk__mp_be
#define mp_check                asockdtk__mp_check
#define mp_fits                 asockdtk__mp_fits
#define mp_header               asockdtk__mp_header
#define mp_walk                 asockdtk__mp_walk
#define perm_check              asockdtk__perm_check
#define perm_init               asockdtk__perm_init
#define utf8_valid              asockdtk__utf8_valid
#define xasprintf               asockdtk__xasprintf
#define xcalloc                 asockdtk__xcalloc
#define xmalloc                 asockdtk__xmalloc
#define xrealloc                asockdtk__xrealloc
#define xstrdup                 asockdtk__xstrdup

#endif /* ASOCKD_TEST_SHARED_H */
