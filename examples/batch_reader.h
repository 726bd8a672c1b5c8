/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reads JSON nobody vouches for (a state or result file anyone may have
 * edited, a server's listing): members of the wrong type are an error
 * naming the first, never a crash or a GLib critical. The lenient readers
 * of json_doc.h would take a wrong type for an absent member, and a state
 * file misread that way could send the run's work again. */
#pragma once

#include <string>
#include <vector>

#include <json-glib/json-glib.h>

namespace transcribe {

class StrictReader {
public:
  bool failed () const { return !error_.empty (); }
  const std::string &error () const { return error_; }

  void fail (const std::string &where, const std::string &what);

  std::string string (JsonObject *o, const char *name, const std::string &where);
  gint64 integer (JsonObject *o, const char *name, const std::string &where);
  bool boolean (JsonObject *o, const char *name, const std::string &where);
  /* An array of objects (or of strings); nullptr when absent. */
  JsonArray *array (JsonObject *o, const char *name, const std::string &where);
  JsonObject *object_at (JsonArray *a, guint i, const std::string &where);
  std::vector<std::string> strings (JsonObject *o, const char *name, const std::string &where);
  /* A resource name the service gave: "files/abc-123", "batches/x9". */
  void service_name (const std::string &name, const char *collection, const std::string &where);

private:
  std::string error_;
};

}  // namespace transcribe
