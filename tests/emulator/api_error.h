/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The google.rpc error bodies the emulator answers with, as the service
 * writes them: {"error": {code, message, status, details}}. */
#pragma once

#include <string>

#include <json-glib/json-glib.h>

#include "glib_ptr.h"
#include "script.h"

namespace gemini::test::emu {

struct ApiError {
  guint code = 400;
  std::string status = "INVALID_ARGUMENT";
  std::string message;
  GPtr<JsonArray> details;

  ApiError () = default;
  ApiError (ApiError &&) = default;
  ApiError &operator= (ApiError &&) = default;
  ApiError (const ApiError &o)
      : code (o.code), status (o.status), message (o.message),
        details (o.details ? json_array_ref (o.details.get ()) : nullptr) {}

  static ApiError make (guint code, std::string status, std::string message);
  /* 400 INVALID_ARGUMENT with a BadRequest detail naming @field. */
  static ApiError bad_request (std::string field, std::string message);

  void add_detail (JsonObject *d);
  std::string body () const;
};

/* The google.rpc status name the service gives an HTTP status. */
const char *grpc_status_for (guint http);
/* The error a scripted "http" fault answers with, with the QuotaFailure and
 * RetryInfo details it asks for. */
ApiError fault_error (const Fault &f, const std::string &model);

}  // namespace gemini::test::emu
