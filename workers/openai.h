/*
 * openai: one call to an OpenAI-compatible server (OpenAI, Ollama, vLLM,
 * llama.cpp, TEI), with the settings base_url, api_key, http_timeout and
 * allow_cidrs. Errors end the worker with the right outcome and class.
 */
#ifndef HIVEJOB_OPENAI_H
#define HIVEJOB_OPENAI_H

#include <json-c/json.h>

#include "worker.h"

json_object	*openai_call(const struct wjob *, const char *, json_object *,
		    const char *);

#endif
