/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state file of a --batch run: what each input and job has come to,
 * rewritten after every step so that a killed run continues where it
 * stopped. */
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gst/gst.h>

namespace transcribe {

/* Where an input stands, in the order the phases move it. Other is a status
 * this program does not write (a hand edit, a later version): the input is
 * left alone, reported as not finished, and its status written back as it
 * was read. */
enum class InputStatus { New, Unreadable, Encoded, Uploaded, Submitted, Answered, Done, Failed,
  Other };

/* The state file's spelling of a status, converted only where the file is
 * read and written. Other has no spelling of its own (InputState::other_status);
 * from_string gives nullopt for a name that is none of the others. */
const char *to_string (InputStatus status);
std::optional<InputStatus> input_status_from_string (std::string_view name);

struct WindowState {
  std::string key;
  GstClockTime start = 0;
  GstClockTime duration = 0;
};

struct InputState {
  std::string path;
  std::string key;
  InputStatus status = InputStatus::New;
  std::string other_status;           /* as read, for InputStatus::Other */
  std::string error;
  std::string mime;
  GstClockTime duration = 0;
  bool has_video = false;
  gint64 media_bytes = 0;
  std::string file_name, file_uri, file_expires;
  std::vector<WindowState> windows;
  std::vector<std::string> written;
  /* The output being written, and what stood at its path before: a kill
   * between the (atomic) write and the state saying so leaves a new file
   * there, which a rerun must not write again. */
  std::string writing, writing_prior;
  std::string job;

  /* The status as the state file and the report spell it. */
  std::string status_name () const;
};

struct JobState {
  std::string display_name;           /* unique: finds a job created just before a kill */
  std::string name;                   /* empty while being submitted */
  std::string input_file;
  std::vector<std::string> keys;
  std::string state;                  /* PENDING ... SUCCEEDED, "" = not known yet */
  bool results_saved = false;
  bool deleted = false;
};

struct State {
  std::string path;
  std::string model;
  std::vector<InputState> inputs;
  std::vector<JobState> jobs;
  std::mutex lock;                    /* the encoders report in parallel */

  std::string cache_dir () const { return path + ".d"; }
  std::string result_path (const std::string &key) const {
    return cache_dir () + "/" + key + ".result.json";
  }
  /* The input's loudness (gemini::AudioEnvelope), for --timing audio. */
  std::string sound_path (const std::string &key) const {
    return cache_dir () + "/" + key + ".sound";
  }
};

/* Writes `text` to `path` through a temporary file and a rename, so a kill
 * leaves the old file or the new one, never half of one. */
bool write_atomically (const std::string &path, const std::string &text, std::string &error);

/* Callers hold state.lock. */
void save_state (State &s);

/* Reads s.path into `s`; false with `error` when it is not a state file
 * this program wrote. */
bool load_state (State &s, std::string &error);

/* The key of input `index` (from 0) and of its window `window`: the only
 * names this program gives its cache files and batch requests. */
std::string input_key (size_t index);
std::string window_key (const std::string &input, size_t window);

}  // namespace transcribe
