/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Error classification and its one-line description. */
#include "result.h"

#include <cstring>

namespace gemini {

namespace {

const char *
kind_name (Error::Kind kind)
{
  switch (kind) {
    case Error::Kind::Transport:
      return "transport error";
    case Error::Kind::Timeout:
      return "timeout";
    case Error::Kind::Cancelled:
      return "cancelled";
    case Error::Kind::Http:
      return "HTTP";
    case Error::Kind::Protocol:
      return "protocol error";
    case Error::Kind::FileFailed:
      return "file processing failed";
    case Error::Kind::Media:
      return "media error";
  }
  return "error";
}

}  // namespace

const char *
Error::kind_id () const
{
  switch (kind) {
    case Kind::Transport:
      return "transport";
    case Kind::Timeout:
      return "timeout";
    case Kind::Cancelled:
      return "cancelled";
    case Kind::Http:
      return "http";
    case Kind::Protocol:
      return "protocol";
    case Kind::FileFailed:
      return "file-failed";
    case Kind::Media:
      return "media";
  }
  return "protocol";
}

bool
Error::retryable () const
{
  switch (kind) {
    case Kind::Transport:
    case Kind::Timeout:
      return true;
    case Kind::Http:
      switch (http_status) {
        case 429:
          return !per_day_quota;
        case 408:
        case 500:
        case 502:
        case 503:
        case 504:
          return true;
        default:
          return false;
      }
    default:
      return false;
  }
}

bool
Error::fatal () const
{
  if (kind != Kind::Http)
    return false;
  if (redirect)
    return true;

  switch (http_status) {
    case 401:
    case 403:
      return true;
    case 400:
      return reason == "API_KEY_INVALID"
          || message.find ("API key not valid") != std::string::npos;
    case 404:
      return model_call;
    default:
      return false;
  }
}

std::string
Error::describe () const
{
  std::string out;

  if (kind == Kind::Http) {
    out = "HTTP " + std::to_string (http_status);
    if (!status.empty ())
      out += " " + status;
  } else {
    out = kind_name (kind);
  }

  if (!message.empty ()) {
    out += ": ";
    /* One line, whatever the server put in its message. */
    for (char c : message)
      out += (c == '\n' || c == '\r') ? ' ' : c;
  }

  if (retry_delay) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd (buf, sizeof (buf), "%.1f",
        static_cast<double> (*retry_delay) / GST_SECOND);
    out += " (retry in ";
    out += buf;
    out += " s)";
  }

  return out;
}

}  // namespace gemini
