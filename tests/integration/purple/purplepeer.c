/*
 * A headless Pidgin: libpurple 2.14 (Debian libpurple0) with its own XMPP stack, its
 * Gingle code (google_session.c), farstream and libnice, audio from a GStreamer test
 * tone into a raw PCM file. The tests build it with gcc against Debian's packages and
 * drive it by its command line; it prints one line per event on stdout.
 *
 *   purplepeer --user-dir DIR --jid JID --password PW --server HOST:PORT --ca-dir DIR
 *              (--answer | --call FULLJID) --tone HZ --record FILE --seconds S
 *              [--codec NAME]
 *
 * --answer accepts the first incoming call; --call places one as soon as libpurple
 * knows the peer can take audio. The call is hung up S seconds after it is accepted
 * (or the peer hangs up first). Received audio is written as signed 16-bit mono at
 * 8000 Hz, whatever the codec. --codec limits farstream's codecs to one (fs-codec.conf).
 * Certificate verification stays on: the test CA's directory is libpurple's only CA
 * search path.
 */

#include <glib.h>
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <account.h>
#include <certificate.h>
#include <connection.h>
#include <core.h>
#include <debug.h>
#include <eventloop.h>
#include <media-gst.h>
#include <mediamanager.h>
#include <plugin.h>
#include <prefs.h>
#include <savedstatuses.h>
#include <signals.h>
#include <util.h>

#define UI_ID "jcall-test-purple"

static GMainLoop *loop;
static PurpleAccount *account;
static const char *call_jid, *record_path, *codec_name;
static double tone_hz = 440.0, seconds = 3.0;
static gboolean answer, ended, accepted_once;
static int handle;

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* -- the event loop libpurple asks for (as libpurple's nullclient example) ---------- */
typedef struct {
	PurpleInputFunction function;
	gpointer data;
} IoClosure;

static gboolean io_invoke(GIOChannel *source, GIOCondition condition, gpointer data)
{
	IoClosure *closure = data;
	PurpleInputCondition cond = 0;
	if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
		cond |= PURPLE_INPUT_READ;
	if (condition & (G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL))
		cond |= PURPLE_INPUT_WRITE;
	closure->function(closure->data, g_io_channel_unix_get_fd(source), cond);
	return TRUE;
}

static guint input_add(gint fd, PurpleInputCondition condition, PurpleInputFunction function,
		       gpointer data)
{
	IoClosure *closure = g_new0(IoClosure, 1);
	GIOCondition cond = 0;
	GIOChannel *channel;
	guint id;

	closure->function = function;
	closure->data = data;
	if (condition & PURPLE_INPUT_READ)
		cond |= G_IO_IN | G_IO_HUP | G_IO_ERR;
	if (condition & PURPLE_INPUT_WRITE)
		cond |= G_IO_OUT | G_IO_HUP | G_IO_ERR | G_IO_NVAL;
	channel = g_io_channel_unix_new(fd);
	id = g_io_add_watch_full(channel, G_PRIORITY_DEFAULT, cond, io_invoke, closure, g_free);
	g_io_channel_unref(channel);
	return id;
}

static PurpleEventLoopUiOps eventloop_ops = {
	g_timeout_add, g_source_remove, input_add, g_source_remove, NULL,
	g_timeout_add_seconds, NULL, NULL, NULL
};

/* -- media elements: a test tone in, raw PCM out ------------------------------------- */
static GstElement *bin_from(gchar *desc)  /* takes desc */
{
	GstElement *bin = gst_parse_bin_from_description(desc, TRUE, NULL);
	g_free(desc);
	return bin;
}

static GstElement *create_src(PurpleMedia *media, const gchar *sid, const gchar *who)
{
	return bin_from(g_strdup_printf(
		"audiotestsrc is-live=true wave=sine volume=0.5 freq=%g ! audioconvert "
		"! audioresample", tone_hz));
}

static GstElement *create_sink(PurpleMedia *media, const gchar *sid, const gchar *who)
{
	return bin_from(g_strdup_printf(
		"audioconvert ! audioresample ! audio/x-raw,format=S16LE,channels=1,rate=8000 "
		"! filesink location=%s sync=false", record_path));
}

static void register_elements(void)
{
	PurpleMediaManager *manager = purple_media_manager_get();
	PurpleMediaElementInfo *src = g_object_new(PURPLE_TYPE_MEDIA_ELEMENT_INFO,
		"id", "jcalltestsrc", "name", "test tone",
		"type", PURPLE_MEDIA_ELEMENT_AUDIO | PURPLE_MEDIA_ELEMENT_SRC
			| PURPLE_MEDIA_ELEMENT_ONE_SRC | PURPLE_MEDIA_ELEMENT_UNIQUE,
		"create-cb", create_src, NULL);
	PurpleMediaElementInfo *sink = g_object_new(PURPLE_TYPE_MEDIA_ELEMENT_INFO,
		"id", "jcalltestsink", "name", "raw file",
		"type", PURPLE_MEDIA_ELEMENT_AUDIO | PURPLE_MEDIA_ELEMENT_SINK
			| PURPLE_MEDIA_ELEMENT_ONE_SINK,
		"create-cb", create_sink, NULL);
	purple_media_manager_register_element(manager, src);
	purple_media_manager_register_element(manager, sink);
	purple_media_manager_set_active_element(manager, src);
	purple_media_manager_set_active_element(manager, sink);
	purple_media_manager_set_ui_caps(manager, PURPLE_MEDIA_CAPS_AUDIO);
}

/* -- a call ------------------------------------------------------------------------------ */
static gboolean quit_now(gpointer data)
{
	g_main_loop_quit(loop);
	return FALSE;
}

static gboolean hang_up(gpointer data)
{
	PurpleMedia *media = data;
	if (!ended) {
		say("hangup");
		/* as Pidgin's hang-up button: google_session.c sends terminate, the media ends */
		purple_media_stream_info(media, PURPLE_MEDIA_INFO_HANGUP, NULL, NULL, TRUE);
	}
	return FALSE;
}

static gboolean accept_call(gpointer data)
{
	purple_media_stream_info(data, PURPLE_MEDIA_INFO_ACCEPT, NULL, NULL, TRUE);
	return FALSE;
}

static void state_changed(PurpleMedia *media, PurpleMediaState state, gchar *sid, gchar *name,
			  gpointer data)
{
	if (state == PURPLE_MEDIA_STATE_NEW && sid && name && answer && !accepted_once) {
		accepted_once = TRUE;
		g_idle_add(accept_call, media);
	} else if (state == PURPLE_MEDIA_STATE_END && !sid && !name) {
		ended = TRUE;
		say("ended");
		g_timeout_add(500, quit_now, NULL);  /* let the terminate reach the server */
	}
}

static void stream_info(PurpleMedia *media, PurpleMediaInfoType type, gchar *sid, gchar *name,
			gboolean local, gpointer data)
{
	if (type == PURPLE_MEDIA_INFO_ACCEPT && !sid && !name) {
		say("accepted %s", local ? "here" : "there");
		g_timeout_add((guint)(seconds * 1000), hang_up, media);
	} else if (type == PURPLE_MEDIA_INFO_HANGUP && !local) {
		say("peer-hangup");
	} else if (type == PURPLE_MEDIA_INFO_REJECT && !local) {
		say("rejected");
	}
}

static void pair_established(PurpleMedia *media, gchar *sid, gchar *name,
			     PurpleMediaCandidate *local, PurpleMediaCandidate *remote,
			     gpointer data)
{
	gchar *ip = purple_media_candidate_get_ip(remote);
	say("candidate-pair %u %s:%u", purple_media_candidate_get_component_id(remote), ip,
	    purple_media_candidate_get_port(remote));
	g_free(ip);
}

static void media_error(PurpleMedia *media, gchar *error, gpointer data)
{
	say("media-error %s", error);
}

static gboolean init_media(PurpleMediaManager *manager, PurpleMedia *media,
			   PurpleAccount *acct, gchar *who, gpointer data)
{
	say("media %s", who);
	g_signal_connect(media, "state-changed", G_CALLBACK(state_changed), NULL);
	g_signal_connect(media, "stream-info", G_CALLBACK(stream_info), NULL);
	g_signal_connect(media, "candidate-pair-established", G_CALLBACK(pair_established), NULL);
	g_signal_connect(media, "error", G_CALLBACK(media_error), NULL);
	return TRUE;
}

static gboolean try_call(gpointer data)
{
	PurpleMediaCaps caps = purple_prpl_get_media_caps(account, call_jid);
	if (!(caps & PURPLE_MEDIA_CAPS_AUDIO))
		return TRUE;  /* its capabilities are not known yet: ask again */
	say("calling %s", call_jid);
	if (!purple_prpl_initiate_media(account, call_jid, PURPLE_MEDIA_AUDIO))
		say("media-error could not initiate");
	return FALSE;
}

static void signed_on(PurpleConnection *gc, gpointer data)
{
	say("signed-on");
	if (call_jid)
		g_timeout_add(50, try_call, NULL);
}

static void connection_error(PurpleConnection *gc, PurpleConnectionError err, const gchar *desc,
			     gpointer data)
{
	say("connection-error %s", desc);
	g_main_loop_quit(loop);
}

static void write_codec_conf(const char *dir)
{
	/* farstream's codec preferences (libpurple reads DIR/fs-codec.conf): one codec. */
	gchar *path = g_build_filename(dir, "fs-codec.conf", NULL);
	gchar *text;
	if (!strcmp(codec_name, "PCMU"))
		text = g_strdup("[audio/PCMU:0]\nclock-rate=8000\n[audio/SPEEX]\nid=-2\n"
				"[audio/PCMA:8]\nid=-2\n[audio/L16]\nid=-2\n");
	else
		text = g_strdup("[audio/L16:10]\nclock-rate=44100\n[audio/SPEEX]\nid=-2\n"
				"[audio/PCMU:0]\nid=-2\n[audio/PCMA:8]\nid=-2\n");
	g_file_set_contents(path, text, -1, NULL);
	g_free(text);
	g_free(path);
}

int main(int argc, char **argv)
{
	const char *user_dir = NULL, *jid = NULL, *password = NULL, *server = NULL,
		   *ca_dir = NULL;
	gchar **host_port;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--answer")) { answer = TRUE; continue; }
		if (!v) { fprintf(stderr, "%s needs a value\n", a); return 2; }
		i++;
		if (!strcmp(a, "--user-dir")) user_dir = v;
		else if (!strcmp(a, "--jid")) jid = v;
		else if (!strcmp(a, "--password")) password = v;
		else if (!strcmp(a, "--server")) server = v;
		else if (!strcmp(a, "--ca-dir")) ca_dir = v;
		else if (!strcmp(a, "--call")) call_jid = v;
		else if (!strcmp(a, "--tone")) tone_hz = g_ascii_strtod(v, NULL);
		else if (!strcmp(a, "--record")) record_path = v;
		else if (!strcmp(a, "--seconds")) seconds = g_ascii_strtod(v, NULL);
		else if (!strcmp(a, "--codec")) codec_name = v;
		else { fprintf(stderr, "unknown option %s\n", a); return 2; }
	}
	if (!user_dir || !jid || !password || !server || !ca_dir || !record_path ||
	    (!answer && !call_jid)) {
		fprintf(stderr, "usage: see the comment at the top of purplepeer.c\n");
		return 2;
	}
	gst_init(&argc, &argv);
	loop = g_main_loop_new(NULL, FALSE);
	purple_util_set_user_dir(user_dir);
	if (codec_name)
		write_codec_conf(user_dir);
	purple_debug_set_enabled(g_getenv("PURPLE_DEBUG") != NULL);
	purple_certificate_add_ca_search_path(ca_dir);
	purple_eventloop_set_ui_ops(&eventloop_ops);
	if (!purple_core_init(UI_ID)) {
		fprintf(stderr, "libpurple failed to initialize\n");
		return 1;
	}
	purple_set_blist(purple_blist_new());
	purple_prefs_load();
	register_elements();
	g_signal_connect(purple_media_manager_get(), "init-media", G_CALLBACK(init_media), NULL);
	purple_signal_connect(purple_connections_get_handle(), "signed-on", &handle,
			      PURPLE_CALLBACK(signed_on), NULL);
	purple_signal_connect(purple_connections_get_handle(), "connection-error", &handle,
			      PURPLE_CALLBACK(connection_error), NULL);

	host_port = g_strsplit(server, ":", 2);
	account = purple_account_new(jid, "prpl-jabber");
	purple_account_set_password(account, password);
	purple_account_set_string(account, "connect_server", host_port[0]);
	purple_account_set_int(account, "port", host_port[1] ? atoi(host_port[1]) : 5222);
	purple_account_set_string(account, "connection_security", "require_tls");
	purple_accounts_add(account);
	g_strfreev(host_port);
	purple_account_set_enabled(account, UI_ID, TRUE);
	purple_savedstatus_activate(purple_savedstatus_new(NULL, PURPLE_STATUS_AVAILABLE));

	g_main_loop_run(loop);
	purple_core_quit();
	return 0;
}
