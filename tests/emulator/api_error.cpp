/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "api_error.h"

#include "json_helpers.h"

namespace gemini::test::emu {

ApiError
ApiError::make (guint code, std::string status, std::string message)
{
  ApiError e;
  e.code = code;
  e.status = std::move (status);
  e.message = std::move (message);
  return e;
}

ApiError
ApiError::bad_request (std::string field, std::string message)
{
  ApiError e = make (400, "INVALID_ARGUMENT", message);
  JsonObject *d = json_object_new ();
  json_object_set_string_member (d, "@type",
      "type.googleapis.com/google.rpc.BadRequest");
  JsonArray *violations = json_array_new ();
  JsonObject *v = json_object_new ();
  json_object_set_string_member (v, "field", field.c_str ());
  json_object_set_string_member (v, "description", message.c_str ());
  json_array_add_object_element (violations, v);
  json_object_set_array_member (d, "fieldViolations", violations);
  e.add_detail (d);
  return e;
}

void
ApiError::add_detail (JsonObject *d)
{
  if (!details)
    details.reset (json_array_new ());
  json_array_add_object_element (details.get (), d);
}

std::string
ApiError::body () const
{
  GPtr<JsonObject> root (json_object_new ());
  JsonObject *err = json_object_new ();
  json_object_set_int_member (err, "code", code);
  json_object_set_string_member (err, "message", message.c_str ());
  json_object_set_string_member (err, "status", status.c_str ());
  if (details)
    json_object_set_array_member (err, "details",
        json_array_ref (details.get ()));
  json_object_set_object_member (root.get (), "error", err);
  return to_json_string (root.get ());
}

const char *
grpc_status_for (guint http)
{
  switch (http) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 408: return "DEADLINE_EXCEEDED";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
    default: return http >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

ApiError
fault_error (const Fault &f, const std::string &model)
{
  std::string status = f.grpc_status.empty () ?
      grpc_status_for (f.status) : f.grpc_status;
  std::string message = f.message.empty () ?
      "The service encountered a scripted error." : f.message;
  ApiError e = ApiError::make (f.status, status, message);
  if (!f.quota_id.empty ()) {
    JsonObject *d = json_object_new ();
    json_object_set_string_member (d, "@type",
        "type.googleapis.com/google.rpc.QuotaFailure");
    JsonArray *violations = json_array_new ();
    JsonObject *v = json_object_new ();
    json_object_set_string_member (v, "quotaMetric",
        "generativelanguage.googleapis.com/generate_content_requests");
    json_object_set_string_member (v, "quotaId", f.quota_id.c_str ());
    JsonObject *dims = json_object_new ();
    json_object_set_string_member (dims, "location", "global");
    json_object_set_string_member (dims, "model", model.c_str ());
    json_object_set_object_member (v, "quotaDimensions", dims);
    json_array_add_object_element (violations, v);
    json_object_set_array_member (d, "violations", violations);
    e.add_detail (d);
  }
  if (!f.retry_delay.empty ()) {
    JsonObject *d = json_object_new ();
    json_object_set_string_member (d, "@type",
        "type.googleapis.com/google.rpc.RetryInfo");
    json_object_set_string_member (d, "retryDelay", f.retry_delay.c_str ());
    e.add_detail (d);
  }
  return e;
}

}  // namespace gemini::test::emu
