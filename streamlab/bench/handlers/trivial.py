# The start-up handler: a module that imports nothing, so a cold start's figure is the
# runtime's own. (buffered.py's typed twin shows what a handler's imports add.)


def noop(event, context):
    return {"ok": True}
