/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed errors for every engine call, and Result<T> = a value or an Error.
 *
 * The error carries what a person needs to act on (HTTP status, the API's
 * status string and message) and what the retry logic needs (retryability,
 * the server's RetryInfo delay). It never carries the API key. */
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <gst/gst.h>

namespace gemini {

struct Error {
  enum class Kind {
    Transport,   /* connection refused, reset, DNS, TLS... */
    Timeout,     /* no complete answer within the request timeout */
    Cancelled,   /* the caller's GCancellable fired: never reported as a failure */
    Http,        /* the service answered with a non-2xx status */
    Protocol,    /* a 2xx answer we could not understand (bad JSON, missing field) */
    FileFailed,  /* an uploaded file ended in state FAILED */
    Media,       /* local encoding/decoding failed */
  };

  Kind kind = Kind::Protocol;
  guint http_status = 0;       /* Kind::Http only */
  std::string status;          /* API status string, e.g. "RESOURCE_EXHAUSTED" */
  std::string message;         /* human-readable, from the API when it gave one */
  std::optional<GstClockTime> retry_delay;  /* from google.rpc.RetryInfo */
  std::string reason;          /* google.rpc.ErrorInfo reason, e.g. "API_KEY_INVALID" */
  bool per_day_quota = false;  /* a QuotaFailure names a per-day quota: waiting won't help */
  bool model_call = false;     /* set by the client on generate calls: 404 = unknown model */
  bool redirect = false;       /* a 3xx, never followed: the endpoint is wrong */

  static Error make (Kind kind, std::string message) {
    Error e;
    e.kind = kind;
    e.message = std::move (message);
    return e;
  }

  bool cancelled () const { return kind == Kind::Cancelled; }

  /* Worth another attempt: 408/429/5xx (as the official SDKs), transport
   * errors and timeouts. A per-day quota exhaustion is not. */
  bool retryable () const;

  /* Nothing can work until a person changes something: bad or missing key,
   * no permission, unknown model, an endpoint that redirects. */
  bool fatal () const;

  /* One line: "HTTP 429 RESOURCE_EXHAUSTED: Quota exceeded ..." */
  std::string describe () const;

  /* The kind as a stable word for programs ("transport", "timeout",
   * "cancelled", "http", "protocol", "file-failed", "media"): what error
   * details and messages carry, so that nobody matches message text. */
  const char *kind_id () const;
};

template <typename T> class Result {
public:
  Result (T value) : v_ (std::move (value)) {}
  Result (Error error) : v_ (std::move (error)) {}

  bool ok () const { return v_.index () == 0; }
  explicit operator bool () const { return ok (); }

  T &value () & { return std::get<0> (v_); }
  const T &value () const & { return std::get<0> (v_); }
  T &&value () && { return std::get<0> (std::move (v_)); }
  T *operator-> () { return &value (); }
  const T *operator-> () const { return &value (); }

  const Error &error () const { return std::get<1> (v_); }

private:
  std::variant<T, Error> v_;
};

/* For calls whose success carries no value. */
struct Unit {};

}  // namespace gemini
