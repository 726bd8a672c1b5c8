/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gemini-transcribe end to end, offline: a generated interview clip goes
 * through the program with --emulator and the clip's script, and every
 * output is read back with GStreamer and compared with the script. */
#include <cmath>
#include <cstdlib>
#include <functional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/pbutils/pbutils.h>
#include <json-glib/json-glib.h>

namespace {

struct Line {
  double start = 0;
  std::string speaker;
  std::string name;
  std::string text;
};

struct Run {
  int status = -1;
  std::string err;
};

struct Fixture {
  std::string dir;
  std::string clip;
  std::string script;
  std::vector<Line> lines;
  Run all;                            /* every format, subtitle tracks */
  Run burn;                           /* --burn .mkv and .mp4 */
} fx;

std::string
path_in (const std::string &name)
{
  return fx.dir + "/" + name;
}

std::string
uri_of (const std::string &path)
{
  gchar *uri = gst_filename_to_uri (path.c_str (), nullptr);
  std::string r (uri);
  g_free (uri);
  return r;
}

std::string
read_file (const std::string &path)
{
  gchar *data = nullptr;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path.c_str (), &data, &len, nullptr));
  std::string r (data, len);
  g_free (data);
  return r;
}

/* Runs the program with no API key in its environment: a key from the
 * developer's shell must never reach the network from a test. */
Run
run_program (const std::vector<std::string> &args, const char *locale = nullptr)
{
  std::vector<gchar *> argv;
  argv.push_back ((gchar *) g_getenv ("GEMINI_TRANSCRIBE"));
  for (const auto &a : args)
    argv.push_back ((gchar *) a.c_str ());
  argv.push_back (nullptr);
  gchar **env = g_get_environ ();
  env = g_environ_unsetenv (env, "GEMINI_API_KEY");
  env = g_environ_unsetenv (env, "GOOGLE_API_KEY");
  if (locale)
    env = g_environ_setenv (env, "LC_ALL", locale, TRUE);

  Run r;
  gchar *err = nullptr;
  gint wait_status = 0;
  GError *error = nullptr;
  const gboolean ok = g_spawn_sync (fx.dir.c_str (), argv.data (), env,
      G_SPAWN_STDOUT_TO_DEV_NULL, nullptr, nullptr, nullptr, &err, &wait_status, &error);
  g_strfreev (env);
  g_assert_no_error (error);
  g_assert_true (ok);
  r.err = err ? err : "";
  g_free (err);
  r.status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
  return r;
}

void
load_script ()
{
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, fx.script.c_str (), nullptr));
  JsonObject *t = json_object_get_object_member (
      json_node_get_object (json_parser_get_root (parser)), "transcript");
  JsonArray *speakers = json_object_get_array_member (t, "speakers");
  JsonArray *utterances = json_object_get_array_member (t, "utterances");
  for (guint i = 0; i < json_array_get_length (utterances); i++) {
    JsonObject *u = json_array_get_object_element (utterances, i);
    Line l;
    l.start = json_object_get_double_member (u, "start");
    l.speaker = json_object_get_string_member (u, "speaker");
    l.text = json_object_get_string_member (u, "text");
    for (guint j = 0; j < json_array_get_length (speakers); j++) {
      JsonObject *s = json_array_get_object_element (speakers, j);
      if (l.speaker == json_object_get_string_member (s, "id"))
        l.name = json_object_get_string_member (s, "name");
    }
    fx.lines.push_back (l);
  }
  g_object_unref (parser);
  g_assert_cmpuint (fx.lines.size (), >=, 4);
}

/* Pango markup to plain text on one line. */
std::string
plain (const std::string &markup)
{
  std::string out;
  bool in_tag = false;
  for (char c : markup) {
    if (c == '<')
      in_tag = true;
    else if (c == '>')
      in_tag = false;
    else if (!in_tag)
      out += c == '\n' ? ' ' : c;
  }
  for (auto [entity, ch] : {std::pair{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"},
          {"&apos;", "'"}, {"&quot;", "\""}}) {
    size_t pos;
    while ((pos = out.find (entity)) != std::string::npos)
      out.replace (pos, strlen (entity), ch);
  }
  return out;
}

struct Cue {
  double start;
  double end;
  std::string text;
};

std::vector<Cue>
read_subtitles (const std::string &path)
{
  GstElement *p = gst_parse_launch (
      "filesrc name=src ! subparse ! appsink name=out sync=false", nullptr);
  g_assert_nonnull (p);
  GstElement *src = gst_bin_get_by_name (GST_BIN (p), "src");
  g_object_set (src, "location", path.c_str (), nullptr);
  gst_object_unref (src);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "out");
  gst_element_set_state (p, GST_STATE_PLAYING);
  std::vector<Cue> cues;
  while (GstSample *s = gst_app_sink_pull_sample (GST_APP_SINK (sink))) {
    GstBuffer *b = gst_sample_get_buffer (s);
    GstMapInfo map;
    gst_buffer_map (b, &map, GST_MAP_READ);
    cues.push_back ({(double) GST_BUFFER_PTS (b) / GST_SECOND,
          (double) (GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b)) / GST_SECOND,
          plain (std::string ((const char *) map.data, map.size))});
    gst_buffer_unmap (b, &map);
    gst_sample_unref (s);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  return cues;
}

/* Every script line is in exactly one cue, within 0.5 s of its start. */
void
check_cues (const std::vector<Cue> &cues, bool labelled)
{
  g_assert_cmpuint (cues.size (), >=, fx.lines.size ());
  for (const auto &line : fx.lines) {
    guint found = 0;
    for (const auto &c : cues) {
      if (c.text.find (line.text) == std::string::npos)
        continue;
      found++;
      g_assert_cmpfloat_with_epsilon (c.start, line.start, 0.501);
      g_assert_cmpfloat (c.end, >, c.start);
      if (labelled)
        g_assert_true (g_str_has_prefix (c.text.c_str (), (line.name + ": ").c_str ()));
    }
    g_assert_cmpuint (found, ==, 1);
  }
}

void
test_srt ()
{
  g_assert_cmpint (fx.all.status, ==, 0);
  check_cues (read_subtitles (path_in ("out.srt")), true);
}

void
test_vtt ()
{
  g_assert_cmpint (fx.all.status, ==, 0);
  const std::string vtt = read_file (path_in ("out.vtt"));
  g_assert_true (g_str_has_prefix (vtt.c_str (), "WEBVTT\n"));
  for (const auto &line : fx.lines) {
    const std::string span = "<v " + line.name + ">";
    const size_t voice = vtt.find (span);
    g_assert_cmpuint (voice, !=, std::string::npos);
  }
  check_cues (read_subtitles (path_in ("out.vtt")), false);
}

void
test_json ()
{
  g_assert_cmpint (fx.all.status, ==, 0);
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, path_in ("out.json").c_str (), nullptr));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonArray *speakers = json_object_get_array_member (root, "speakers");
  JsonArray *rows = json_object_get_array_member (root, "transcripts");
  g_assert_cmpuint (json_array_get_length (rows), ==, fx.lines.size ());
  for (guint i = 0; i < fx.lines.size (); i++) {
    JsonObject *row = json_array_get_object_element (rows, i);
    g_assert_cmpstr (json_object_get_string_member (row, "text"), ==, fx.lines[i].text.c_str ());
    const double start = json_object_get_int_member (row, "start_ms") / 1000.0;
    g_assert_cmpfloat_with_epsilon (start, fx.lines[i].start, 0.501);
    const gchar *id = json_object_get_string_member (row, "speaker");
    const gchar *name = nullptr;
    for (guint j = 0; j < json_array_get_length (speakers); j++) {
      JsonObject *s = json_array_get_object_element (speakers, j);
      if (g_str_equal (json_object_get_string_member (s, "id"), id)) {
        name = json_object_get_string_member (s, "name");
        g_assert_true (json_object_get_boolean_member (s, "identified"));
      }
    }
    g_assert_cmpstr (name, ==, fx.lines[i].name.c_str ());
  }
  gint64 total = 0;
  JsonArray *segments = json_object_get_array_member (root, "segments");
  g_assert_cmpuint (json_array_get_length (segments), >=, 2);
  guint answered = 0;
  for (guint i = 0; i < json_array_get_length (segments); i++) {
    JsonObject *s = json_array_get_object_element (segments, i);
    const std::string status = json_object_get_string_member (s, "status");
    /* The pause before the last line may be a segment of its own. */
    g_assert_true (status == "ok" || status == "silent");
    answered += status == "ok";
    total += json_object_get_int_member (s, "total_tokens");
  }
  g_assert_cmpuint (answered, >=, 2);
  g_assert_cmpint (total, >, 0);
  g_assert_cmpint (json_object_get_int_member (
          json_object_get_object_member (root, "usage"), "total_tokens"), ==, total);
  g_object_unref (parser);
}

void
test_markdown ()
{
  g_assert_cmpint (fx.all.status, ==, 0);
  const std::string md = read_file (path_in ("out.md"));
  g_assert_nonnull (strstr (md.c_str (), "| id | name | company |"));
  g_assert_nonnull (strstr (md.c_str (), "| start | end | speaker | text |"));
  for (const auto &line : fx.lines)
    g_assert_nonnull (strstr (md.c_str (), ("| " + line.name + " | " + line.text + " |").c_str ()));
}

bool
json_to_file (JsonNode *root, const std::string &path)
{
  JsonGenerator *gen = json_generator_new ();
  json_generator_set_root (gen, root);
  const gboolean ok = json_generator_to_file (gen, path.c_str (), nullptr);
  g_object_unref (gen);
  return ok;
}

guint
count (const std::string &haystack, const std::string &needle)
{
  guint n = 0;
  for (size_t pos = haystack.find (needle); pos != std::string::npos;
      pos = haystack.find (needle, pos + 1))
    n++;
  return n;
}

void
test_html ()
{
  g_assert_cmpint (fx.all.status, ==, 0);
  const std::string html = read_file (path_in ("out.html"));
  g_assert_nonnull (strstr (html.c_str (), "<table class=\"speakers\">"));
  g_assert_nonnull (strstr (html.c_str (), "<div class=\"timeline\">"));
  g_assert_nonnull (strstr (html.c_str (), "<table class=\"transcript\">"));
  /* Both speakers are named on screen: identified rows and lanes. */
  g_assert_cmpuint (count (html, "<tr class=\"identified\">"), ==, 2);
  g_assert_cmpuint (count (html, "<div class=\"lane identified\""), ==, 2);
  for (const auto &line : fx.lines) {
    g_assert_nonnull (strstr (html.c_str (), ("<td>" + line.name + "</td>").c_str ()));
    g_assert_nonnull (strstr (html.c_str (), line.text.c_str ()));
  }
  /* One bar per utterance in the timeline. */
  g_assert_cmpuint (count (html, "<span style=\"left:"), ==, fx.lines.size ());
  /* Self-contained. */
  g_assert_null (strstr (html.c_str (), "<link"));
  g_assert_null (strstr (html.c_str (), "<script"));
  g_assert_null (strstr (html.c_str (), " src="));
}

/* The clip's script with the speaker `id` edited, written to `name`. */
std::string
script_with (const char *name, const char *id, const std::function<void (JsonObject *)> &edit)
{
  JsonParser *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, fx.script.c_str (), nullptr));
  JsonObject *t = json_object_get_object_member (
      json_node_get_object (json_parser_get_root (parser)), "transcript");
  JsonArray *speakers = json_object_get_array_member (t, "speakers");
  for (guint j = 0; j < json_array_get_length (speakers); j++) {
    JsonObject *sp = json_array_get_object_element (speakers, j);
    if (g_str_equal (json_object_get_string_member (sp, "id"), id))
      edit (sp);
  }
  const std::string script = path_in (name);
  g_assert_true (json_to_file (json_parser_get_root (parser), script));
  g_object_unref (parser);
  return script;
}

/* A speaker never named on screen keeps an id (one per segment: without a
 * name the element cannot tell it is the same person): greyed in the table
 * and the timeline, and the WebVTT voice is the id. */
void
test_unidentified_speaker ()
{
  const std::string script = script_with ("unnamed.json", "bob", [] (JsonObject *sp) {
        json_object_set_double_member (sp, "visible_from", 1e6); });

  const Run r = run_program ({fx.clip, "--emulator-script", script, "-s", "10000", "-q",
        "-o", "unnamed.html", "-o", "unnamed.vtt"});
  g_assert_cmpint (r.status, ==, 0);
  const std::string html = read_file (path_in ("unnamed.html"));
  g_assert_cmpuint (count (html, "<tr class=\"identified\">"), ==, 1);
  const guint unnamed = count (html, "<tr class=\"unidentified\">");
  g_assert_cmpuint (unnamed, >=, 1);
  g_assert_cmpuint (count (html, "<div class=\"lane unidentified\""), ==, unnamed);
  g_assert_cmpuint (count (html, "<div class=\"lane identified\""), ==, 1);
  const std::string vtt = read_file (path_in ("unnamed.vtt"));
  g_assert_cmpuint (count (vtt, "<v Alice Martin>"), ==, 3);
  g_assert_cmpuint (count (vtt, "<v S"), ==, 2);
}

/* The JSON's speakers: Alice Martin alone has evidence, the script's. */
void
check_evidence_json (const std::string &path)
{
  JsonParser *out = json_parser_new ();
  g_assert_true (json_parser_load_from_file (out, path.c_str (), nullptr));
  JsonArray *listed = json_object_get_array_member (
      json_node_get_object (json_parser_get_root (out)), "speakers");
  guint found = 0;
  for (guint j = 0; j < json_array_get_length (listed); j++) {
    JsonObject *sp = json_array_get_object_element (listed, j);
    JsonArray *evidence = json_object_get_array_member (sp, "evidence");
    if (json_array_get_length (evidence) == 0)
      continue;
    found++;
    g_assert_cmpstr (json_object_get_string_member (sp, "name"), ==, "Alice Martin");
    JsonObject *e = json_array_get_object_element (evidence, 0);
    g_assert_cmpstr (json_object_get_string_member (e, "field"), ==, "name");
    g_assert_cmpstr (json_object_get_string_member (e, "source"), ==, "shown");
    g_assert_cmpstr (json_object_get_string_member (e, "text"), ==, "ALICE MARTIN <Acme>");
    /* The emulated model writes whole seconds of its clip. */
    g_assert_cmpint (ABS (json_object_get_int_member (e, "time_ms") - 12000), <=, 500);
  }
  g_assert_cmpuint (found, ==, 1);
  g_object_unref (out);
}

/* --evidence: each named field's evidence, at its time in the input, in
 * the JSON, the HTML report's speaker table and the Markdown; without it,
 * none is asked for. Whole mode and 10 s segments alike: the segment's
 * origin is added once; --batch too. */
void
test_evidence ()
{
  const std::string script = script_with ("evidence.json", "alice", [] (JsonObject *sp) {
        JsonArray *evidence = json_array_new ();
        JsonObject *e = json_object_new ();
        json_object_set_string_member (e, "field", "name");
        json_object_set_double_member (e, "time", 12.0);
        json_object_set_string_member (e, "source", "shown");
        json_object_set_string_member (e, "text", "ALICE MARTIN <Acme>");
        json_array_add_object_element (evidence, e);
        json_object_set_array_member (sp, "evidence", evidence); });

  for (const char *mode : {"whole", "streaming"}) {
    const std::string stem = std::string ("ev-") + mode;
    std::vector<std::string> args{fx.clip, "--emulator-script", script, "--evidence", "-q",
      "--mode", mode, "-o", stem + ".json", "-o", stem + ".html", "-o", stem + ".md"};
    if (g_str_equal (mode, "streaming")) {
      args.push_back ("-s");
      args.push_back ("10000");
    }
    const Run r = run_program (args);
    g_assert_cmpint (r.status, ==, 0);
    check_evidence_json (path_in (stem + ".json"));
    const std::string html = read_file (path_in (stem + ".html"));
    g_assert_nonnull (strstr (html.c_str (), "<th>evidence</th>"));
    g_assert_nonnull (strstr (html.c_str (), "<td class=\"evidence\"><b>name</b>, shown at "));
    g_assert_nonnull (strstr (html.c_str (), ": \u201CALICE MARTIN &lt;Acme&gt;\u201D</td>"));
    const std::string md = read_file (path_in (stem + ".md"));
    g_assert_nonnull (strstr (md.c_str (), "| shown | ALICE MARTIN <Acme> |"));
  }
  g_mkdir_with_parents (path_in ("ev-batch").c_str (), 0700);
  const Run batch = run_program ({"--batch", fx.clip, "--emulator-script", script, "--evidence",
        "-q", "--state", path_in ("evidence-state.json"), "--poll-interval", "100",
        "-o", path_in ("ev-batch/{stem}.json")});
  g_assert_cmpint (batch.status, ==, 0);
  check_evidence_json (path_in ("ev-batch/clip.json"));
  /* The run without --evidence asked for none. */
  const std::string plain = read_file (path_in ("out.json"));
  g_assert_null (strstr (plain.c_str (), "\"field\""));
  g_assert_null (strstr (read_file (path_in ("out.html")).c_str (), "<th>evidence</th>"));
}

struct MediaInfo {
  double duration = 0;
  guint audio = 0;
  guint video = 0;
  guint subtitles = 0;
};

MediaInfo
discover (const std::string &path)
{
  GError *err = nullptr;
  GstDiscoverer *d = gst_discoverer_new (60 * GST_SECOND, &err);
  g_assert_no_error (err);
  GstDiscovererInfo *info = gst_discoverer_discover_uri (d, uri_of (path).c_str (), &err);
  g_assert_no_error (err);
  g_assert_cmpint (gst_discoverer_info_get_result (info), ==, GST_DISCOVERER_OK);
  MediaInfo m;
  m.duration = (double) gst_discoverer_info_get_duration (info) / GST_SECOND;
  GList *l = gst_discoverer_info_get_audio_streams (info);
  m.audio = g_list_length (l);
  gst_discoverer_stream_info_list_free (l);
  l = gst_discoverer_info_get_video_streams (info);
  m.video = g_list_length (l);
  gst_discoverer_stream_info_list_free (l);
  l = gst_discoverer_info_get_subtitle_streams (info);
  m.subtitles = g_list_length (l);
  gst_discoverer_stream_info_list_free (l);
  gst_discoverer_info_unref (info);
  g_object_unref (d);
  return m;
}

void
on_stream_pad (GstElement *dec, GstPad *pad, gpointer)
{
  GstElement *pipeline = GST_ELEMENT (gst_element_get_parent (dec));
  GstElement *sink = gst_element_factory_make ("fakesink", nullptr);
  g_object_set (sink, "sync", FALSE, nullptr);
  gst_bin_add (GST_BIN (pipeline), sink);
  gst_element_sync_state_with_parent (sink);
  GstPad *sinkpad = gst_element_get_static_pad (sink, "sink");
  gst_pad_link (pad, sinkpad);
  gst_object_unref (sinkpad);
  gst_object_unref (pipeline);
}

/* Links the first pad whose caps start with `prefix` to `element`'s sink
 * pad; every other stream goes to a fakesink. */
void
link_first_pad_of (GstElement *dec, GstPad *pad, GstElement *element, const char *prefix)
{
  GstCaps *caps = gst_pad_query_caps (pad, nullptr);
  const bool wanted = g_str_has_prefix (gst_structure_get_name (
          gst_caps_get_structure (caps, 0)), prefix);
  gst_caps_unref (caps);
  GstPad *sink = gst_element_get_static_pad (element, "sink");
  if (wanted && !gst_pad_is_linked (sink))
    gst_pad_link (pad, sink);
  else
    on_stream_pad (dec, pad, nullptr);
  gst_object_unref (sink);
}

void
on_frame_pad (GstElement *dec, GstPad *pad, gpointer convert)
{
  link_first_pad_of (dec, pad, GST_ELEMENT (convert), "video/");
}

/* Decodes every stream of `path` to the end; true when nothing failed. */
bool
decodes_fully (const std::string &path)
{
  GstElement *p = gst_pipeline_new (nullptr);
  GstElement *dec = gst_element_factory_make ("uridecodebin", nullptr);
  g_object_set (dec, "uri", uri_of (path).c_str (), nullptr);
  gst_bin_add (GST_BIN (p), dec);
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_stream_pad), nullptr);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND,
      (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS;
  if (m)
    gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return ok;
}

void
on_text_pad (GstElement *dec, GstPad *pad, gpointer appsink)
{
  link_first_pad_of (dec, pad, GST_ELEMENT (appsink), "text/");
}

/* The cues of a container's subtitle track. */
std::vector<Cue>
read_subtitle_track (const std::string &path)
{
  GstElement *p = gst_pipeline_new (nullptr);
  GstElement *dec = gst_element_factory_make ("uridecodebin", nullptr);
  GstElement *sink = gst_element_factory_make ("appsink", nullptr);
  g_object_set (dec, "uri", uri_of (path).c_str (), nullptr);
  g_object_set (sink, "sync", FALSE, nullptr);
  gst_bin_add_many (GST_BIN (p), dec, sink, nullptr);
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_text_pad), sink);
  gst_element_set_state (p, GST_STATE_PLAYING);
  std::vector<Cue> cues;
  while (GstSample *s = gst_app_sink_pull_sample (GST_APP_SINK (sink))) {
    GstBuffer *b = gst_sample_get_buffer (s);
    GstMapInfo map;
    gst_buffer_map (b, &map, GST_MAP_READ);
    if (map.size > 0)
      cues.push_back ({(double) GST_BUFFER_PTS (b) / GST_SECOND,
            (double) (GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b)) / GST_SECOND,
            plain (std::string ((const char *) map.data, map.size))});
    gst_buffer_unmap (b, &map);
    gst_sample_unref (s);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return cues;
}

void
check_video_output (const std::string &name, bool subtitles)
{
  const MediaInfo src = discover (fx.clip);
  const MediaInfo out = discover (path_in (name));
  g_assert_cmpfloat_with_epsilon (out.duration, src.duration, 0.5);
  g_assert_cmpuint (out.audio, ==, 1);
  g_assert_cmpuint (out.video, ==, 1);
  g_assert_cmpuint (out.subtitles, ==, subtitles ? 1 : 0);
  g_assert_true (decodes_fully (path_in (name)));
  if (subtitles)
    check_cues (read_subtitle_track (path_in (name)), true);
}

/* The grey levels of the frame shown at `seconds`. */
std::vector<guint8>
frame_at (const std::string &path, double seconds)
{
  GstElement *p = gst_pipeline_new (nullptr);
  GstElement *dec = gst_element_factory_make ("uridecodebin", nullptr);
  GstElement *convert = gst_element_factory_make ("videoconvert", nullptr);
  GstElement *sink = gst_element_factory_make ("appsink", nullptr);
  GstCaps *caps = gst_caps_from_string ("video/x-raw, format=GRAY8");
  g_object_set (dec, "uri", uri_of (path).c_str (), nullptr);
  g_object_set (sink, "caps", caps, "sync", FALSE, nullptr);
  gst_caps_unref (caps);
  gst_bin_add_many (GST_BIN (p), dec, convert, sink, nullptr);
  gst_element_link (convert, sink);
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_frame_pad), convert);

  gst_element_set_state (p, GST_STATE_PAUSED);
  g_assert_cmpint (gst_element_get_state (p, nullptr, nullptr, 60 * GST_SECOND), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_assert_true (gst_element_seek_simple (p, GST_FORMAT_TIME, (GstSeekFlags)
          (GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE), (gint64) (seconds * GST_SECOND)));
  gst_element_get_state (p, nullptr, nullptr, 60 * GST_SECOND);
  GstSample *s = gst_app_sink_try_pull_preroll (GST_APP_SINK (sink), 60 * GST_SECOND);
  g_assert_nonnull (s);
  GstMapInfo map;
  GstBuffer *b = gst_sample_get_buffer (s);
  gst_buffer_map (b, &map, GST_MAP_READ);
  std::vector<guint8> frame (map.data, map.data + map.size);
  gst_buffer_unmap (b, &map);
  gst_sample_unref (s);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return frame;
}

/* Pixels whose grey level changed a lot: drawn text, not codec noise. */
guint
changed_pixels (const std::vector<guint8> &a, const std::vector<guint8> &b)
{
  g_assert_cmpuint (a.size (), ==, b.size ());
  guint n = 0;
  for (size_t i = 0; i < a.size (); i++)
    n += std::abs ((int) a[i] - (int) b[i]) > 80;
  return n;
}

void
check_burned (const std::string &name)
{
  g_assert_cmpint (fx.burn.status, ==, 0);
  check_video_output (name, false);
  const double during = fx.lines[0].start + 1.0;
  /* After the fourth line's cue, before the fifth line. */
  const double between = fx.lines[4].start - 2.0;
  const guint drawn = changed_pixels (frame_at (fx.clip, during),
      frame_at (path_in (name), during));
  const guint clean = changed_pixels (frame_at (fx.clip, between),
      frame_at (path_in (name), between));
  g_test_message ("%s: %u pixels changed under a cue, %u without", name.c_str (), drawn, clean);
  g_assert_cmpuint (drawn, >, 2000);
  g_assert_cmpuint (clean, <, 200);
}

void
test_mkv_subtitle_track ()
{
  g_assert_cmpint (fx.all.status, ==, 0);
  check_video_output ("out.mkv", true);
}

void
test_mp4_subtitle_track ()
{
  g_assert_cmpint (fx.all.status, ==, 0);
  check_video_output ("out.mp4", true);
}

void
test_mkv_burned ()
{
  check_burned ("burn.mkv");
}

void
test_mp4_burned ()
{
  check_burned ("burn.mp4");
}

/* No video pad is requested from the element; the video output carries the
 * audio and the subtitle track, even with --burn. */
void
test_audio_only_input ()
{
  const std::string audio = path_in ("audio.ogg");
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! matroskademux ! opusparse ! "
      "oggmux ! filesink location=\"%s\"", fx.clip.c_str (), audio.c_str ());
  GstElement *p = gst_parse_launch (desc, nullptr);
  g_free (desc);
  g_assert_nonnull (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (p);
  GstMessage *m = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      (GstMessageType) (GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  g_assert_nonnull (m);
  g_assert_cmpint (GST_MESSAGE_TYPE (m), ==, GST_MESSAGE_EOS);
  gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);

  const Run r = run_program ({audio, "--emulator-script", fx.script, "-s", "10000", "--burn",
        "-o", "audio.srt", "-o", "audio.mkv"});
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err.c_str (), "no video to burn"));
  check_cues (read_subtitles (path_in ("audio.srt")), true);
  const MediaInfo out = discover (path_in ("audio.mkv"));
  g_assert_cmpuint (out.audio, ==, 1);
  g_assert_cmpuint (out.video, ==, 0);
  g_assert_cmpuint (out.subtitles, ==, 1);
  check_cues (read_subtitle_track (path_in ("audio.mkv")), true);
}

void
test_summary_and_dry_run_note ()
{
  g_assert_nonnull (strstr (fx.all.err.c_str (), "OFFLINE DRY RUN"));
  for (const auto &line : fx.lines)
    g_assert_nonnull (strstr (fx.all.err.c_str (), line.name.c_str ()));
  g_assert_nonnull (strstr (fx.all.err.c_str (), "talk time"));
}

void
test_no_key ()
{
  const Run r = run_program ({fx.clip, "-o", path_in ("nokey.srt")});
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err.c_str (), "GEMINI_API_KEY"));
  g_assert_nonnull (strstr (r.err.c_str (), "--emulator"));
  g_assert_cmpuint (count (r.err, "\n"), ==, 1);
  g_assert_false (g_file_test (path_in ("nokey.srt").c_str (), G_FILE_TEST_EXISTS));
}

void
test_unreadable_input ()
{
  Run r = run_program ({path_in ("missing.mkv"), "--emulator", "-o", path_in ("x.srt")});
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err.c_str (), "missing.mkv"));

  const std::string junk = path_in ("junk.mkv");
  g_assert_true (g_file_set_contents (junk.c_str (), "not media at all", -1, nullptr));
  r = run_program ({junk, "--emulator", "-q", "-o", path_in ("x.srt")});
  g_assert_cmpint (r.status, ==, 3);
  g_assert_nonnull (strstr (r.err.c_str (), "cannot read"));
  g_assert_cmpuint (count (r.err, "\n"), ==, 1);
}

void
test_unwritable_output ()
{
  Run r = run_program ({fx.clip, "--emulator", "-o", path_in ("no/such/dir/out.srt")});
  g_assert_cmpint (r.status, ==, 4);
  g_assert_nonnull (strstr (r.err.c_str (), "no/such/dir"));
  r = run_program ({fx.clip, "--emulator", "-o", fx.dir + "/"});
  g_assert_cmpint (r.status, ==, 1);
  const std::string dir_named_srt = path_in ("dir.srt");
  g_mkdir (dir_named_srt.c_str (), 0755);
  r = run_program ({fx.clip, "--emulator", "-o", dir_named_srt});
  g_assert_cmpint (r.status, ==, 4);
}

/* The same file, by name, through a link, or as the default output of an
 * input named like one: refused before anything is written. */
void
test_output_never_replaces_input ()
{
  gsize before = 0;
  gchar *bytes = nullptr;
  g_assert_true (g_file_get_contents (fx.clip.c_str (), &bytes, &before, nullptr));
  g_free (bytes);

  Run r = run_program ({fx.clip, "--emulator", "-q", "-o", fx.clip});
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err.c_str (), "is the input"));

  const std::string link = path_in ("link.mkv");
  g_assert_cmpint (symlink (fx.clip.c_str (), link.c_str ()), ==, 0);
  r = run_program ({fx.clip, "--emulator", "-q", "-o", link});
  g_assert_cmpint (r.status, ==, 1);

  const std::string named_srt = path_in ("talk.srt");
  g_assert_cmpint (symlink (fx.clip.c_str (), named_srt.c_str ()), ==, 0);
  r = run_program ({"talk.srt", "--emulator", "-q"});
  g_assert_cmpint (r.status, ==, 1);

  GStatBuf st;
  g_assert_cmpint (g_stat (fx.clip.c_str (), &st), ==, 0);
  g_assert_cmpuint ((gsize) st.st_size, ==, before);
}

/* A server that does not answer: --request-timeout and --max-retries
 * bound the run (the defaults, 120 s and 4 retries, would take minutes). */
void
test_request_timeout_and_retries_options ()
{
  const std::string script = path_in ("slow.json");
  g_assert_true (g_file_set_contents (script.c_str (),
          "{\"faults\": [{\"match\": \"generate\", \"type\": \"delay\", "
          "\"delay_ms\": 60000}]}", -1, nullptr));
  const gint64 t0 = g_get_monotonic_time ();
  const Run r = run_program ({fx.clip, "--emulator-script", script, "-q", "-s", "10000",
        "--request-timeout", "1", "--max-retries", "0", "-o", path_in ("slow.srt")});
  const double took = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("unanswered requests, 1 s timeout, no retry: exit %d in %.1f s", r.status,
      took);
  g_assert_cmpint (r.status, ==, 6);
  g_assert_cmpfloat (took, <, 30.0);

  for (const char *bad : {"--request-timeout=-1", "--request-timeout=3601",
        "--max-retries=21", "--max-retries=-2"}) {
    const Run u = run_program ({fx.clip, "--emulator", bad, "-o", path_in ("u.srt")});
    g_assert_cmpint (u.status, ==, 1);
  }
}

void
test_unknown_model ()
{
  const Run r = run_program ({fx.clip, "--emulator", "-q", "--model", "gemini-nope",
        "-o", path_in ("model.srt")});
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err.c_str (), "gemini-nope"));
  g_assert_cmpuint (count (r.err, "\n"), ==, 1);
}

void
test_quota_exhausted ()
{
  const std::string script = path_in ("quota.json");
  g_assert_true (g_file_set_contents (script.c_str (),
          "{\"faults\": [{\"match\": \"generate\", \"type\": \"http\", \"status\": 429, "
          "\"message\": \"Quota exceeded\", "
          "\"quota_id\": \"GenerateRequestsPerDayPerProject\"}]}", -1, nullptr));
  const Run r = run_program ({fx.clip, "--emulator-script", script, "-q",
        "-s", "10000", "-o", path_in ("quota.srt")});
  g_assert_cmpint (r.status, ==, 5);
  g_assert_nonnull (strstr (r.err.c_str (), "quota"));
}

/* GLib's messages quote with “”: shown as they are in a UTF-8 locale, as
 * plain quotes in a C locale, never as '?'. */
void
test_messages_in_the_locale_charset ()
{
  const std::string missing = path_in ("no-such-script.json");
  for (const char *locale : {"C", "C.UTF-8"}) {
    const Run r = run_program ({fx.clip, "--emulator-script", missing, "-q", "-o",
          path_in ("locale.srt")}, locale);
    g_test_message ("LC_ALL=%s: %s", locale, r.err.c_str ());
    g_assert_cmpint (r.status, !=, 0);
    const bool utf8 = g_str_equal (locale, "C.UTF-8");
    const std::string quoted = utf8 ? "“" + missing + "”" : "\"" + missing + "\"";
    g_assert_nonnull (strstr (r.err.c_str (), quoted.c_str ()));
    g_assert_null (strstr (r.err.c_str (), ("?" + missing).c_str ()));
  }
}

void
test_usage ()
{
  Run r = run_program ({fx.clip, "--emulator", "-o", path_in ("out.docx")});
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err.c_str (), ".docx"));
  r = run_program ({});
  g_assert_cmpint (r.status, ==, 1);
  for (const char *j : {"0", "65", "-3"}) {
    r = run_program ({fx.clip, "--emulator", "-j", j, "-o", path_in ("j.srt")});
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err.c_str (), "--concurrency must be between 1 and 64"));
  }
  for (const char *lang : {"not a lang!!", "e", "en-", "toolonglanguage"}) {
    r = run_program ({fx.clip, "--emulator", "-l", lang, "-o", path_in ("l.srt")});
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err.c_str (), "is not a BCP-47 language tag"));
  }
  r = run_program ({"--batch", fx.clip, "-j", "0", "-o", path_in ("{stem}.srt")});
  g_assert_cmpint (r.status, ==, 1);
  for (const char *batch : {"", "--batch"}) {
    std::vector<std::string> args{fx.clip, "--emulator", "--timing", "words", "-o",
      path_in ("t-{stem}.srt")};
    if (*batch)
      args.push_back (batch);
    r = run_program (args);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err.c_str (), "--timing must be audio or model"));
  }
  r = run_program ({"--version"});
  g_assert_cmpint (r.status, ==, 0);

  /* the same stem in two folders: the template has {stem}, it lacks {dir} */
  for (const char *d : {"a", "b"}) {
    const std::string dir = path_in (d);
    g_mkdir_with_parents (dir.c_str (), 0700);
    g_assert_cmpint (symlink (fx.clip.c_str (), (dir + "/clip.mkv").c_str ()), ==, 0);
  }
  r = run_program ({"--batch", path_in ("a/clip.mkv"), path_in ("b/clip.mkv"),
        "-o", path_in ("out/{stem}.srt")});
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err.c_str (), "put {dir} in the -o template"));
}

void
setup ()
{
  gchar *dir = g_dir_make_tmp ("gemini-transcribe-XXXXXX", nullptr);
  g_assert_nonnull (dir);
  fx.dir = dir;
  g_free (dir);
  fx.clip = path_in ("clip.mkv");
  fx.script = path_in ("script.json");

  const gchar *examples = g_getenv ("GEMINI_EXAMPLES_DIR");
  g_assert_nonnull (examples);
  gchar *cmd = g_strdup_printf ("bash '%s/make-sample-clip.sh' '%s' '%s'", examples,
      fx.clip.c_str (), fx.script.c_str ());
  gint wait_status = 0;
  g_assert_true (g_spawn_command_line_sync (cmd, nullptr, nullptr, &wait_status, nullptr));
  g_free (cmd);
  g_assert_true (WIFEXITED (wait_status) && WEXITSTATUS (wait_status) == 0);
  load_script ();

  const gint64 t0 = g_get_monotonic_time ();
  fx.all = run_program ({fx.clip, "--emulator-script", fx.script, "-s", "10000",
        "-o", "out.srt", "-o", "out.vtt", "-o", "out.json", "-o", "out.md",
        "-o", "out.html", "-o", "out.mkv", "-o", "out.mp4"});
  g_test_message ("every format: exit %d in %.1f s\n%s", fx.all.status,
      (g_get_monotonic_time () - t0) / 1e6, fx.all.err.c_str ());
  fx.burn = run_program ({fx.clip, "--emulator-script", fx.script, "-s", "10000", "--burn",
        "-q", "-o", "burn.mkv", "-o", "burn.mp4"});
  g_test_message ("burn: exit %d\n%s", fx.burn.status, fx.burn.err.c_str ());
}

int
remove_tree (const std::string &dir)
{
  gchar *cmd = g_strdup_printf ("rm -rf '%s'", dir.c_str ());
  gint status = 0;
  g_spawn_command_line_sync (cmd, nullptr, nullptr, &status, nullptr);
  g_free (cmd);
  return status;
}

}  // namespace

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, nullptr);
  g_assert_nonnull (g_getenv ("GEMINI_TRANSCRIBE"));
  setup ();

  g_test_add_func ("/transcribe/srt-parses-back-with-script-cues", test_srt);
  g_test_add_func ("/transcribe/vtt-has-voice-spans-and-script-cues", test_vtt);
  g_test_add_func ("/transcribe/json-matches-script", test_json);
  g_test_add_func ("/transcribe/evidence", test_evidence);
  g_test_add_func ("/transcribe/markdown-has-speaker-and-transcript-tables", test_markdown);
  g_test_add_func ("/transcribe/html-has-speakers-timeline-transcript", test_html);
  g_test_add_func ("/transcribe/unidentified-speaker-is-greyed-and-voiced-by-id",
      test_unidentified_speaker);
  g_test_add_func ("/transcribe/mkv-keeps-audio-video-adds-subtitle-track",
      test_mkv_subtitle_track);
  g_test_add_func ("/transcribe/mp4-keeps-audio-video-adds-subtitle-track",
      test_mp4_subtitle_track);
  g_test_add_func ("/transcribe/burned-mkv-draws-text-at-cue-times", test_mkv_burned);
  g_test_add_func ("/transcribe/burned-mp4-draws-text-at-cue-times", test_mp4_burned);
  g_test_add_func ("/transcribe/audio-only-input-gets-subtitles", test_audio_only_input);
  g_test_add_func ("/transcribe/prints-dry-run-note-and-speaker-summary",
      test_summary_and_dry_run_note);
  g_test_add_func ("/transcribe/no-key-exits-2-with-how-to", test_no_key);
  g_test_add_func ("/transcribe/unreadable-input-exits-3", test_unreadable_input);
  g_test_add_func ("/transcribe/unwritable-output-exits-4", test_unwritable_output);
  g_test_add_func ("/transcribe/output-never-replaces-input",
      test_output_never_replaces_input);
  g_test_add_func ("/transcribe/request-timeout-and-max-retries-bound-the-run",
      test_request_timeout_and_retries_options);
  g_test_add_func ("/transcribe/unknown-model-exits-5", test_unknown_model);
  g_test_add_func ("/transcribe/quota-exhausted-exits-5", test_quota_exhausted);
  g_test_add_func ("/transcribe/usage-errors-exit-1", test_usage);
  g_test_add_func ("/transcribe/messages-in-the-locale-charset",
      test_messages_in_the_locale_charset);
  const int result = g_test_run ();
  if (result == 0)
    remove_tree (fx.dir);
  return result;
}
