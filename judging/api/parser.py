"""How the API reads a request body."""

from flask_smorest import abort
from webargs import missing
from webargs.flaskparser import FlaskParser, is_json_request

from judging import inputs


class JSONParser(FlaskParser):
    """webargs' parser, reading bodies with judging.inputs.loads: a body nested thousands deep
    or holding a number of thousands of digits is a 400 naming the problem, not a 500."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return missing
        return inputs.loads(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        if isinstance(error, inputs.JSONTooComplex):
            abort(400, message=f"The body cannot be read: {error.msg}.")
        super()._handle_invalid_json_error(error, req, *args, **kwargs)
