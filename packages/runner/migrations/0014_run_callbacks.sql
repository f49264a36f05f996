CREATE TABLE "podline"."run_callbacks" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"pipeline" text NOT NULL,
	"version" text NOT NULL,
	"event" text NOT NULL,
	"state" text NOT NULL,
	"tries" integer DEFAULT 0 NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp with time zone,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "run_callbacks_state_check" CHECK (state in ('queued', 'running', 'success', 'failed'))
);
--> statement-breakpoint
ALTER TABLE "podline"."runs" ADD COLUMN "callbacks" text[];--> statement-breakpoint
ALTER TABLE "podline"."run_callbacks" ADD CONSTRAINT "run_callbacks_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "podline"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "run_callbacks_run_event_idx" ON "podline"."run_callbacks" USING btree ("run_id","event");--> statement-breakpoint
CREATE INDEX "run_callbacks_open_idx" ON "podline"."run_callbacks" USING btree ("version","available_at","id") WHERE state in ('queued', 'running');