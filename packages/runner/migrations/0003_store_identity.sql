CREATE TABLE "podline"."store" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- The identity is made here, once per store, so every worker that migrates or opens it reads the same id.
INSERT INTO "podline"."store" DEFAULT VALUES;
