-- One step of the IVR path, and what was keyed for the agent's screen.
update calls set menu_path = menu_path || @step::text, keyed = keyed || @keyed::jsonb where id = @id
